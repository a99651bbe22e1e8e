export { ApiClient, type ApiClientInit, type RequestOptions } from './api-client.js'
