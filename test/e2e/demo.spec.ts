import { execFile } from 'node:child_process'
import { access } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'

const DEMO = fileURLToPath(new URL('../../examples/demo.js', import.meta.url))

// `npm run demo` is the README's first example of the main job; it must keep working
describe('npm run demo', function () {
  this.timeout(180_000)

  it('runs three daemons, deploys echo with 2 replicas, keeps every call through the gateway answered across an owner\'s SIGKILL, and routes calls to the new owner', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number, stdout: string, stderr: string }>((resolve) => {
      execFile(process.execPath, [DEMO], { timeout: 170_000 }, (err, stdout, stderr) => {
        resolve({ code: err == null ? 0 : typeof (err as any).code === 'number' ? (err as any).code : 1, stdout, stderr })
      })
    })
    expect(code, `${stdout}\n${stderr}`).to.equal(0)
    expect(stdout).to.match(/running on [abc] and [abc] /)
    expect(stdout).to.match(/new owner: [abc], running echo/)
    expect(stdout).to.match(/the gateway's first call answered by [abc]:/)
    expect(stdout).to.match(/(\d+) sent, \1 answered correctly, 0 failed/)
    expect(stdout).to.include('every call was answered')
    // the daemons are gone and their temp dir with them
    const dir = /three daemons under (\S+)/.exec(stdout)?.[1]
    expect(dir).to.be.a('string')
    expect(await access(dir!).then(() => true, () => false)).to.equal(false)
  })
})
