import { InvalidRequestError } from '../lib/interface/errors.js'
import type { FuseInput } from '../lib/fusion/index.js'

/**
 * A fusion's inputs from a `multipart/form-data` body: each file part is one
 * modality (the part's name), its Content-Type the media type; plain fields
 * are options. Parsed by Node's own fetch implementation (undici's
 * `Response.formData()`, RFC 7578), not by hand.
 */
export async function inputsFromMultipart (contentType: string, body: Uint8Array): Promise<{ inputs: FuseInput[], fields: Record<string, string> }> {
  let form: FormData
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData()
  } catch (err: any) {
    throw new InvalidRequestError(`malformed multipart/form-data body: ${err.message}`)
  }
  const inputs: FuseInput[] = []
  const fields: Record<string, string> = {}
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') {
      fields[name] = value
      continue
    }
    const mediaType = value.type.split(';')[0]!.trim()
    if (mediaType === '') throw new InvalidRequestError(`part "${name}" has no Content-Type: it is the input's media type`)
    inputs.push({ modality: name, mediaType, data: new Uint8Array(await value.arrayBuffer()) })
  }
  return { inputs, fields }
}
