import Foundation
import NASSearch

/// Small pieces of HTML text shared by the views: escaping and the number formats of the CLI's tables
/// (`StudyReport.table`, `RankingReport.table`), so that a figure reads the same on the page and in the
/// terminal.
public enum HTML {
    /// `s` as HTML text or attribute value (`&`, `<`, `>`, `"` escaped).
    public static func escape(_ s: String) -> String { ScatterPlot.escape(s) }

    /// An objective or any measured value: `%.6g`; "-" when not finite (as `swiftnas study show`).
    public static func value(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "-" }
        return String(format: "%.6g", v)
    }

    /// A correlation: `%.3f`; "n/a" when undefined (as `swiftnas rank`).
    public static func correlation(_ v: Double) -> String { v.isNaN ? "n/a" : String(format: "%.3f", v) }

    /// A count in millions (parameters) or billions (FLOPs): `%.3f`.
    public static func scaled(_ v: Double, by scale: Double) -> String { String(format: "%.3f", v / scale) }

    /// A number for a `data-sort` attribute (what the table's sorting compares): shortest exact form,
    /// empty when not finite (sorted last).
    public static func sortKey(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "" }
        return "\(v)"
    }
}
