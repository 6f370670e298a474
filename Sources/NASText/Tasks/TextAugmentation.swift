import Foundation
import NASTensor

/// RandAugment for text (Cubuk et al., "RandAugment: Practical automated data augmentation with a reduced search
/// space", 2020, carried to words as EDA, Wei & Zou 2019, and UDA's TF-IDF replacement, Xie et al. 2020, do): an
/// example gets N operations drawn uniformly with replacement from `Operation`, each changing
/// k = round(f · n) of its n words, with one global magnitude M ∈ 0…10 mapped to f = M / 20 (0 to 0.5):
///
/// - `synonym`: k words replaced by one of their nearest neighbours (`synonyms`, e.g. a teacher's embedding
///   neighbours); `insertion`: k neighbours of random words inserted at random places;
/// - `swap`: ⌈k/2⌉ swaps of disjoint random pairs; `adjacent-swap`: ⌈k/2⌉ swaps of disjoint neighbouring pairs;
/// - `deletion`: k random words deleted; `span-deletion`: one run of k words deleted (at least one word stays);
/// - `mask`: k words replaced by `[MASK]`;
/// - `tfidf`: k words replaced, the least informative first (lowest TF-IDF in the training set), each by a word
///   drawn from the training set's most frequent words (UDA's non-keyword replacement).
///
/// Operations whose resource is missing (no synonyms, no TF-IDF table) are left out of the draw. N = 0 or M = 0 is
/// the identity; a seeded generator makes every result reproducible.
public struct TextAugmentation {
    public enum Operation: String, CaseIterable, Sendable {
        case synonym, insertion, swap, adjacentSwap = "adjacent-swap", deletion, spanDeletion = "span-deletion", mask, tfidf
    }

    public var count: Int
    public var magnitude: Int
    /// Neighbours of a word (nil or empty: none known).
    public var synonyms: ((String) -> [String])?
    /// A word's inverse document frequency in the training set, and the most frequent words (the replacements).
    public var idf: [String: Double]?
    public var frequentWords: [String] = []
    public var maskToken = "[MASK]"

    public init(count: Int, magnitude: Int, synonyms: ((String) -> [String])? = nil) {
        precondition(count >= 0 && (0...10).contains(magnitude), "TextAugmentation: N ≥ 0 and M ∈ 0…10, got \(count), \(magnitude)")
        (self.count, self.magnitude, self.synonyms) = (count, magnitude, synonyms)
    }

    /// The operations the resources allow.
    public var operations: [Operation] {
        Operation.allCases.filter { op in
            switch op {
            case .synonym, .insertion: return synonyms != nil
            case .tfidf: return idf != nil && !frequentWords.isEmpty
            default: return true
            }
        }
    }

    /// k = round(M/20 · n).
    public func changedWords(_ n: Int) -> Int { Int((Double(magnitude) / 20 * Double(n)).rounded()) }

    /// Fits the TF-IDF table and the frequent words (`top` of them) on a training set's texts.
    public mutating func fitTFIDF(_ texts: [String], top: Int = 1000) {
        var documents: [String: Int] = [:], counts: [String: Int] = [:]
        for t in texts {
            let words = TextAugmentation.words(t)
            for w in words { counts[w, default: 0] += 1 }
            for w in Set(words) { documents[w, default: 0] += 1 }
        }
        idf = documents.mapValues { log(Double(texts.count) / Double($0)) }
        frequentWords = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(top).map(\.key)
    }

    static func words(_ text: String) -> [String] { text.split(whereSeparator: \.isWhitespace).map(String.init) }

    /// `text` after N random operations at magnitude M.
    public func apply(_ text: String, using rng: inout RandomGenerator) -> String {
        let ops = operations
        guard count > 0, magnitude > 0, !ops.isEmpty else { return text }
        var words = TextAugmentation.words(text)
        for _ in 0..<count { words = apply(ops[Int(rng.next() % UInt64(ops.count))], to: words, using: &rng) }
        return words.joined(separator: " ")
    }

    /// One operation on a list of words.
    public func apply(_ op: Operation, to words: [String], using rng: inout RandomGenerator) -> [String] {
        let n = words.count, k = min(changedWords(n), n)
        guard k > 0 else { return words }
        func positions(_ m: Int, among candidates: [Int]) -> [Int] {
            var c = candidates
            for i in 0..<min(m, c.count) { c.swapAt(i, i + Int(rng.next() % UInt64(c.count - i))) }
            return Array(c.prefix(m))
        }
        func pick(_ xs: [String]) -> String { xs[Int(rng.next() % UInt64(xs.count))] }
        var out = words
        switch op {
        case .synonym:
            let candidates = words.indices.filter { !(synonyms?(words[$0]) ?? []).isEmpty }
            for i in positions(k, among: candidates) { out[i] = pick(synonyms!(words[i])) }
        case .insertion:
            let sources = words.filter { !(synonyms?($0) ?? []).isEmpty }
            guard !sources.isEmpty else { return words }
            for _ in 0..<k { out.insert(pick(synonyms!(pick(sources))), at: Int(rng.next() % UInt64(out.count + 1))) }
        case .swap:
            // ⌈k/2⌉ disjoint pairs of distinct positions.
            let p = positions(2 * ((k + 1) / 2), among: Array(words.indices))
            for j in stride(from: 0, to: p.count - 1, by: 2) { out.swapAt(p[j], p[j + 1]) }
        case .adjacentSwap:
            // ⌈k/2⌉ disjoint neighbouring pairs (i, i+1), their starts of one random parity.
            guard n >= 2 else { return words }
            let parity = Int(rng.next() % 2)
            for i in positions((k + 1) / 2, among: Array(stride(from: parity, to: n - 1, by: 2))) { out.swapAt(i, i + 1) }
        case .deletion:
            let gone = Set(positions(min(k, n - 1), among: Array(words.indices)))
            out = words.indices.filter { !gone.contains($0) }.map { words[$0] }
        case .spanDeletion:
            let length = min(k, n - 1)
            guard length > 0 else { return words }
            let start = Int(rng.next() % UInt64(n - length + 1))
            out.removeSubrange(start..<(start + length))
        case .mask:
            for i in positions(k, among: Array(words.indices)) { out[i] = maskToken }
        case .tfidf:
            guard let idf, !frequentWords.isEmpty else { return words }
            // Least informative first: sort by TF-IDF in this example (term count × idf), ties in a random order.
            let counts = Dictionary(words.map { ($0, 1) }, uniquingKeysWith: +)
            let order = positions(n, among: Array(words.indices))
                .sorted { Double(counts[words[$0]]!) * (idf[words[$0]] ?? 0) < Double(counts[words[$1]]!) * (idf[words[$1]] ?? 0) }
            for i in order.prefix(k) {
                let others = frequentWords.filter { $0 != words[i] }
                if !others.isEmpty { out[i] = pick(others) }
            }
        }
        return out
    }
}
