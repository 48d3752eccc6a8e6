/// An open dataset, as `dataset/open` and `dataset/list` describe it.
public struct DatasetDescription: Codable, Sendable, Equatable {
    /// The id to name it by in later requests.
    public var id: String
    /// Its root folder.
    public var path: String
    /// `paddleseg`, `camvid`, ...
    public var format: String
    /// Images per split.
    public var splits: [String: Int]
    /// Images with a label per split.
    public var labelledSplits: [String: Int]
    public var numClasses: Int
    public var classes: [String]
    public var palette: [[Int]]
    public var ignoreIndex: Int
    /// What is wrong with the listing (files that do not exist, lines that do not parse).
    public var problems: Problems

    public init(id: String, path: String, format: String, splits: [String: Int], labelledSplits: [String: Int], numClasses: Int,
                classes: [String], palette: [[Int]], ignoreIndex: Int, problems: Problems) {
        self.id = id
        self.path = path
        self.format = format
        self.splits = splits
        self.labelledSplits = labelledSplits
        self.numClasses = numClasses
        self.classes = classes
        self.palette = palette
        self.ignoreIndex = ignoreIndex
        self.problems = problems
    }

    public struct Problems: Codable, Sendable, Equatable {
        public var missingFiles: Int
        /// The first few missing files.
        public var firstMissing: [String]
        /// Present only when some lines do not parse.
        public var malformedLines: [String]?
        public init(missingFiles: Int, firstMissing: [String], malformedLines: [String]? = nil) {
            self.missingFiles = missingFiles
            self.firstMissing = firstMissing
            self.malformedLines = malformedLines
        }
    }
}
