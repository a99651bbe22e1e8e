// libp2p v3 needs Promise.withResolvers (Node 22+); load the polyfill before anything uses it
import '../polyfill.js'
export { createNode, type NodeInit, type NoodleNode, type NoodleServices } from './create-node.js'
export { Bootstrapper, bootstrapper, type BootstrapperInit, type BootstrapperEvents } from './bootstrapper.js'
export { backoffDelay, type BackoffInit } from './backoff.js'
export { PROFILES, type Profile } from './profiles.js'
export * from './constants.js'
