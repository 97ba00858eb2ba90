import UpstreamPool

/// The pool's server type, named apart from `BridgeRelay.UpstreamServer` (a file that imports both modules cannot
/// qualify it: `UpstreamPool.UpstreamServer` reads as a member of the class `UpstreamPool`).
typealias PoolServerAddress = UpstreamServer
