// Imported by the node agent at boot to warm up CommonJS loading through import() (see node-runtime.ts warmUp).
exports.probe = async (event) => ({ ok: true, event });
