import Foundation

/// A learning-rate schedule: linear warm-up from 0 to `peak` over `warmupSteps`, then constant, linear
/// decay or cosine decay (Loshchilov & Hutter 2017, "SGDR") down to `floor` at `totalSteps`.
///
/// `step` is the number of optimizer steps already taken (0 for the first step), so the optimizer's
/// step s uses `learningRate(at: s)`. With w = warmupSteps, T = totalSteps, q = (s − w)/(T − w):
///
///     s < w:               lr = peak · s / w
///     constant:            lr = peak
///     linear,  w ≤ s ≤ T:  lr = floor + (peak − floor) · (1 − q)
///     cosine,  w ≤ s ≤ T:  lr = floor + (peak − floor) · (1 + cos(π q)) / 2
///     s > T:               lr = floor (decaying kinds)
///
/// These are the forms of Hugging Face's `get_linear_schedule_with_warmup` and
/// `get_cosine_schedule_with_warmup` (floor 0). Computed in Double, returned as Float.
public struct LRSchedule: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case constant, linear, cosine
    }

    public var kind: Kind
    /// The learning rate at the end of warm-up.
    public var peak: Float
    public var warmupSteps: Int
    /// Step at which a decaying schedule reaches `floor` (ignored by `.constant`).
    public var totalSteps: Int
    /// The learning rate at and after `totalSteps` (decaying kinds).
    public var floor: Float

    public init(kind: Kind, peak: Float, warmupSteps: Int = 0, totalSteps: Int = 0, floor: Float = 0) {
        precondition(warmupSteps >= 0, "LRSchedule: warmupSteps \(warmupSteps) must be ≥ 0")
        precondition(kind == .constant || totalSteps >= warmupSteps,
                     "LRSchedule: totalSteps \(totalSteps) must be ≥ warmupSteps \(warmupSteps)")
        self.kind = kind
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.floor = floor
    }

    /// `peak` throughout, after an optional linear warm-up.
    public static func constant(_ learningRate: Float, warmupSteps: Int = 0) -> LRSchedule {
        LRSchedule(kind: .constant, peak: learningRate, warmupSteps: warmupSteps)
    }

    /// Linear warm-up to `peak`, then linear decay to `floor` at `totalSteps`.
    public static func linear(peak: Float, warmupSteps: Int, totalSteps: Int, floor: Float = 0) -> LRSchedule {
        LRSchedule(kind: .linear, peak: peak, warmupSteps: warmupSteps, totalSteps: totalSteps, floor: floor)
    }

    /// Linear warm-up to `peak`, then half a cosine down to `floor` at `totalSteps`.
    public static func cosine(peak: Float, warmupSteps: Int, totalSteps: Int, floor: Float = 0) -> LRSchedule {
        LRSchedule(kind: .cosine, peak: peak, warmupSteps: warmupSteps, totalSteps: totalSteps, floor: floor)
    }

    /// The learning rate for optimizer step `step` (0-based).
    public func learningRate(at step: Int) -> Float {
        let s = Double(max(step, 0)), w = Double(warmupSteps), peak = Double(self.peak)
        if step < warmupSteps { return Float(peak * s / w) }
        if kind == .constant { return self.peak }
        if step >= totalSteps { return floor }
        let q = (s - w) / Double(totalSteps - warmupSteps), lo = Double(floor)
        switch kind {
        case .constant: return self.peak
        case .linear: return Float(lo + (peak - lo) * (1 - q))
        case .cosine: return Float(lo + (peak - lo) * (1 + cos(Double.pi * q)) / 2)
        }
    }
}
