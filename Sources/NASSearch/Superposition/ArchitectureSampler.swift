import NASTensor

/// Turns one searchable dimension's logits α [n] into mixing weights w [n] (Σw = 1), differentiably in α
/// (except SPOS): the weights a superposition (mixed) layer gives its n choices (issue 13). α is a leaf
/// parameter's tensor; w is in the same autograd graph, so a loss of w back-propagates into α's gradient.
public protocol ArchitectureSampler: Sendable {
    /// "darts", "drnas", "gdas" or "spos".
    var name: String { get }
    /// w for α at `step` of `totalSteps` (GDAS anneals its temperature over them); randomness from `rng` only,
    /// so the same generator state gives the same w.
    func weights(_ alpha: Tensor, step: Int, totalSteps: Int, using rng: inout RandomGenerator) -> Tensor
}

/// The samplers by name, with their published defaults.
public enum ArchitectureSamplerKind: String, CaseIterable, Codable, Sendable {
    case darts, drnas, gdas, spos

    public func make() -> any ArchitectureSampler {
        switch self {
        case .darts: DARTSSampler()
        case .drnas: DrNASSampler()
        case .gdas: GDASSampler()
        case .spos: SPOSSampler()
        }
    }
}
