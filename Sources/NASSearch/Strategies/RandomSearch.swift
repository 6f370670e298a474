import NASTensor

/// Random search: every proposal an independent uniform sample of the space (the baseline every
/// NAS paper must beat; Li & Talwalkar, 2019). Asynchronous by nature: it ignores what it is told.
public final class RandomSearch: SearchStrategy {
    public let name = "random"
    let space: SearchSpace
    var rng: RandomGenerator

    public init(space: SearchSpace, seed: UInt64) {
        self.space = space
        rng = RandomGenerator(seed: seed)
    }

    public func ask(accept: (Genome) -> Bool) throws -> Genome {
        try propose(name, accept: accept) { space.sample(using: &rng) }
    }

    public func tell(_ genome: Genome, fitness: [Double]) {}
}
