import Foundation

/// The BERT "basic" tokenizer (uncased by default), on Unicode scalars:
///
/// 1. clean: drop U+0000, U+FFFD and every other-category scalar (Cc, Cf, Cs, Co, Cn) except
///    tab/newline/carriage return; map those three, U+0020 and space/line/paragraph separators
///    (Zs, Zl, Zp) to a space;
/// 2. put spaces around CJK ideographs (the blocks BERT lists), so each is its own word;
/// 3. split on spaces;
/// 4. per word, if `lowercase`: lowercase (full Unicode mapping), then strip accents
///    (canonical decomposition, drop non-spacing marks, category Mn);
/// 5. split each word on punctuation (ASCII 33–47, 58–64, 91–96, 123–126 and any P* scalar);
///    every punctuation scalar becomes a word of its own.
///
/// Special-token strings such as "[CLS]" in the text are not recognised; they split like any text.
public struct BasicTokenizer: Sendable, Equatable {
    /// Lowercase and strip accents (BERT uncased).
    public var lowercase: Bool

    public init(lowercase: Bool = true) {
        self.lowercase = lowercase
    }

    /// The words of `text`, after cleaning, CJK and punctuation splitting and normalisation.
    public func tokenize(_ text: String) -> [String] {
        var result: [String] = []
        forEachWord(in: text) { word in
            var s = String()
            s.unicodeScalars.append(contentsOf: word)
            result.append(s)
        }
        return result
    }

    /// The words of `text` as arrays of Unicode scalars (never empty).
    public func words(_ text: String) -> [[Unicode.Scalar]] {
        var result: [[Unicode.Scalar]] = []
        forEachWord(in: text) { result.append(Array($0)) }
        return result
    }

    /// Calls `body` with each word of `text` in order (never empty). The slice is only valid
    /// during the call; buffers are reused, so no allocation happens per ASCII word.
    public func forEachWord(in text: String, _ body: (ArraySlice<Unicode.Scalar>) -> Void) {
        var word: [Unicode.Scalar] = []
        var normalized: [Unicode.Scalar] = []
        word.reserveCapacity(64)
        normalized.reserveCapacity(64)
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v == 0x20 || v == 0x09 || v == 0x0A || v == 0x0D {
                emit(&word, &normalized, body)
                continue
            }
            if v < 0x80 {
                if v < 0x20 || v == 0x7F { continue } // ASCII controls
                word.append(scalar)
                continue
            }
            if v == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                emit(&word, &normalized, body)
            } else if Self.isCJK(scalar) {
                emit(&word, &normalized, body)
                word.append(scalar)
                emit(&word, &normalized, body)
            } else {
                word.append(scalar)
            }
        }
        emit(&word, &normalized, body)
    }

    /// Normalises one whitespace-delimited word, splits it on punctuation and empties `word`.
    private func emit(_ word: inout [Unicode.Scalar], _ normalized: inout [Unicode.Scalar],
                      _ body: (ArraySlice<Unicode.Scalar>) -> Void) {
        guard !word.isEmpty else { return }
        defer { word.removeAll(keepingCapacity: true) }
        normalized.removeAll(keepingCapacity: true)
        if lowercase {
            Self.lowercaseAndStripAccents(word, into: &normalized)
        } else {
            normalized.append(contentsOf: word)
        }
        var pieceStart = 0
        for index in normalized.indices where Self.isPunctuation(normalized[index]) {
            if pieceStart < index { body(normalized[pieceStart..<index]) }
            body(normalized[index...index])
            pieceStart = index + 1
        }
        if pieceStart < normalized.count { body(normalized[pieceStart...]) }
    }

    /// Lowercase, canonical decomposition (NFD), then drop non-spacing marks (Mn).
    static func lowercaseAndStripAccents(_ word: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        lowercaseAndStripAccents(word, into: &result)
        return result
    }

    /// Appends the lowercased, accent-stripped scalars of `word` to `result`.
    ///
    /// ASCII and Latin (U+0080–U+024F, combining marks U+0300–U+036F) words use a table built once
    /// from Foundation's NFD; other words go through Foundation's NFD directly. Both give the same
    /// result, since the letters of these blocks decompose to a base plus Mn marks only.
    static func lowercaseAndStripAccents(_ word: [Unicode.Scalar], into result: inout [Unicode.Scalar]) {
        var fast = true
        for scalar in word where scalar.value >= 0x80 {
            let v = scalar.value
            if !(v < 0x250 || (0x300..<0x370).contains(v)) { fast = false; break }
        }
        if fast {
            let table = latinStripped
            for scalar in word {
                let v = scalar.value
                if v < 0x80 {
                    result.append((v >= 0x41 && v <= 0x5A) ? Unicode.Scalar(v + 0x20)! : scalar)
                } else if !scalar.properties.changesWhenLowercased {
                    if v < 0x250 { result.append(contentsOf: table[Int(v) - 0x80]) }
                    // U+0300–U+036F: combining marks (Mn), dropped
                } else {
                    for lower in scalar.properties.lowercaseMapping.unicodeScalars {
                        let l = lower.value
                        if l < 0x80 { result.append(lower) }
                        else if l < 0x250 { result.append(contentsOf: table[Int(l) - 0x80]) }
                        else if !(0x300..<0x370).contains(l) { result.append(lower) }
                    }
                }
            }
            return
        }
        foundationLowercaseAndStripAccents(word, into: &result)
    }

    /// The general path: per-scalar full lowercase mapping, Foundation's NFD, drop Mn.
    static func foundationLowercaseAndStripAccents(_ word: [Unicode.Scalar], into result: inout [Unicode.Scalar]) {
        var lowered = String()
        for scalar in word {
            if !scalar.properties.changesWhenLowercased {
                lowered.unicodeScalars.append(scalar)
            } else {
                lowered.append(scalar.properties.lowercaseMapping)
            }
        }
        for scalar in lowered.decomposedStringWithCanonicalMapping.unicodeScalars
        where scalar.properties.generalCategory != .nonspacingMark {
            result.append(scalar)
        }
    }

    /// NFD of U+0080..<U+0250 with non-spacing marks removed, one entry per scalar.
    private static let latinStripped: [[Unicode.Scalar]] = (UInt32(0x80)..<0x250).map { v in
        String(Unicode.Scalar(v)!).decomposedStringWithCanonicalMapping.unicodeScalars
            .filter { $0.properties.generalCategory != .nonspacingMark }
    }

    /// Other-category scalars (control, format, surrogate, private use, unassigned), except the
    /// tab, newline and carriage return that count as whitespace.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return false
        default: break
        }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// Space, tab, newline, carriage return, and space/line/paragraph separators.
    public static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        default: break
        }
        switch scalar.properties.generalCategory {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// ASCII symbols and punctuation (33–47, 58–64, 91–96, 123–126), and any Unicode P* scalar.
    public static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        if v < 0x80 { return false }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideograph blocks BERT treats as single-character words.
    public static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return (0x4E00...0x9FFF).contains(v)
            || (0x3400...0x4DBF).contains(v)
            || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v)
            || (0x2B740...0x2B81F).contains(v)
            || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v)
            || (0x2F800...0x2FA1F).contains(v)
    }
}
