/**
 * Constants that more than one subsystem relies on. They live here, not in
 * the folder of whichever subsystem used them first, so that subsystems
 * depend on each other one way only (see docs/design.md, "Layout and the direction of dependencies").
 */

/** Every protocol id and gossip topic starts with this; a mesh may choose its own. */
export const DEFAULT_PROTOCOL_PREFIX = '/noodle'

/** Labels a node carries (config, `label set`, placement requirements): at most this many. */
export const MAX_LABELS = 32
/** A label key: letters, digits and `. _ / -`, at most 63, starting with a letter or digit. */
export const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$/
/** A label value's longest length. */
export const MAX_LABEL_VALUE = 128
