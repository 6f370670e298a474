import NASModels
import NASTensor
import NASText

/// The nearest whole words of a word in a model's word-embedding table by cosine similarity — the synonyms of
/// `TextAugmentation` (its `synonym` and `insertion` operations) taken from a teacher's embedding space. Candidates
/// are the vocabulary's whole words of letters only (no `##` pieces, special or unused tokens) of two letters or
/// more; a word that is not one of them has no neighbours. Results are cached per word.
public final class EmbeddingNeighbours {
    let candidates: [String]
    let index: [String: Int]
    /// Candidate rows, unit length [C, E], and their values.
    let rows: Tensor
    let unit: [Float]
    public let count: Int
    private var cache: [String: [String]] = [:]

    public init(table: Tensor, tokenizer: WordPieceTokenizer, count: Int = 5) {
        precondition(table.rank == 2 && table.shape[0] >= tokenizer.vocabSize, "EmbeddingNeighbours: table \(table.shape) for \(tokenizer.vocabSize) tokens")
        let ids = tokenizer.tokens.indices.filter { i in
            let t = tokenizer.tokens[i]
            return t.count >= 2 && t.allSatisfy { $0.isLetter } && !tokenizer.specialIds.contains(Int32(i))
        }
        let e = table.shape[1], all = table.contiguous().scalars
        var values = [Float](repeating: 0, count: ids.count * e)
        for (r, id) in ids.enumerated() {
            let row = all[(id * e)..<((id + 1) * e)]
            let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for (j, v) in row.enumerated() { values[r * e + j] = v / norm }
        }
        candidates = ids.map { tokenizer.tokens[$0] }
        index = Dictionary(candidates.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        rows = Tensor(shape: [ids.count, e], scalars: values)
        unit = values
        self.count = count
    }

    /// The `count` candidates closest to `word` (lowercased), itself excluded; [] for a word outside the candidates.
    public func callAsFunction(_ word: String) -> [String] {
        let w = word.lowercased()
        if let hit = cache[w] { return hit }
        guard let i = index[w] else { cache[w] = []; return [] }
        let e = rows.shape[1]
        let query = Tensor(shape: [e, 1], scalars: Array(unit[(i * e)..<((i + 1) * e)]))
        let similarity = Autograd.noGrad { rows.matmul(query) }.scalars
        let best = similarity.indices.filter { $0 != i }.sorted { (similarity[$0], $1) > (similarity[$1], $0) }.prefix(count).map { candidates[$0] }
        cache[w] = best
        return best
    }
}
