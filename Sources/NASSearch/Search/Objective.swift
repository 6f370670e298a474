import NASModels

/// What a search maximises or minimises for one candidate. A zero-shot proxy today (`ProxyObjective`);
/// the accuracy of a sub-network with supernet weights, or of a trained model, implement the same
/// protocol, so strategies and studies take them without change.
public protocol Objective {
    var spec: ObjectiveSpec { get }
    /// The candidate's value (a non-finite value or a thrown error marks the trial failed).
    func evaluate(_ arch: Architecture) throws -> Double
}

/// A zero-shot proxy as an objective: each candidate scored on a fresh `ProxyContext` — its own model
/// initialised from `seed` (the same seed for every candidate), the same batch and loss.
public final class ProxyObjective: Objective {
    public let proxy: Proxy
    public let batch: TokenBatch
    public let seed: UInt64
    public let maskTokenId: Int32?
    public let specialTokenIds: Set<Int32>

    public init(proxy: Proxy, batch: TokenBatch, seed: UInt64, maskTokenId: Int32? = nil, specialTokenIds: Set<Int32> = []) {
        self.proxy = proxy; self.batch = batch; self.seed = seed
        self.maskTokenId = maskTokenId; self.specialTokenIds = specialTokenIds
    }

    public var spec: ObjectiveSpec { ObjectiveSpec(name: proxy.name, maximize: true) }

    public func evaluate(_ arch: Architecture) throws -> Double {
        let context = try ProxyContext(architecture: arch, batch: batch, seed: seed, maskTokenId: maskTokenId,
                                       specialTokenIds: specialTokenIds)
        return try proxy.score(context)
    }
}
