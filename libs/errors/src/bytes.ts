/**
 * Whether this machine stores numbers little-endian. Every binary format redgrad writes (model
 * parameters, task indices, data set hashes) is little-endian, so only a big-endian host converts.
 */
export const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
