import Foundation

/// What `swiftnas report` was given, told from the path: a training run folder (holds `metrics.jsonl`),
/// a ranking folder (holds `ranking.json`), or else a study (a file path or a `postgresql://` URL).
public enum ReportSource: Sendable {
    case study(String)
    case trainingRun(URL)
    case ranking(URL)

    public init(_ location: String) {
        let url = URL(fileURLWithPath: location)
        var isFolder: ObjCBool = false
        if !location.contains("://"), FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("ranking.json").path) {
                self = .ranking(url)
            } else {
                self = .trainingRun(url)
            }
        } else {
            self = .study(location)
        }
    }

    /// The page of the source (reads it once). Errors name the file and what is wrong.
    public func page() throws -> ReportPage {
        switch self {
        case .study(let location): return StudyView(snapshot: try StudySnapshot.open(location)).page()
        case .trainingRun(let url): return try TrainingRunView(folder: url).page()
        case .ranking(let url): return try RankingView(folder: url).page()
        }
    }
}
