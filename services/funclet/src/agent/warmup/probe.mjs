// Imported by the node agent at boot to warm up the ESM loader (see node-runtime.ts warmUp).
export const probe = async (event) => ({ ok: true, event });
