import { Membership, type MembershipComponents, type MembershipInit } from './membership.js'

export { Membership, type MembershipComponents, type MembershipInit, type MembershipEvents } from './membership.js'
export { MemberTable, type Member, type MemberEvent } from './member-table.js'
export { TIMING_PRESETS, TIMING_PRESET_NAMES, type TimingPreset, type TimingPresetName } from './presets.js'
export { suspicionTimeout } from './suspicion.js'
export { LocalHealth } from './local-health.js'
export * from './wire.js'
export * from './constants.js'

export function membership (init: MembershipInit = {}): (components: MembershipComponents) => Membership {
  return (components) => new Membership(components, init)
}
