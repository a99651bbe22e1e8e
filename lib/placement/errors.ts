export { InvalidServiceSpecError } from '../interface/errors.js'
