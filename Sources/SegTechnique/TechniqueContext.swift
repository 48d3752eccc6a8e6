import SegGraph
import SegProtocol
import SegTensor

/// What a running technique may use besides the model: progress, cancellation, sample inputs
/// (calibration, BN re-estimation), an accuracy probe (sensitivity, accuracy budgets) and the
/// model runner (every forward pass a technique makes goes through it).
///
/// The server builds the data parts from the request (`dataset`, `split`, `calibration`);
/// they are nil when the caller gave none, and a technique that needs them says so with
/// `TechniqueError.notApplicable` naming the missing request field.
public struct TechniqueContext: Sendable {
    /// Reports fractional progress (0...1) with a short message; a no-op when the client did
    /// not ask for progress.
    public var progress: @Sendable (_ fraction: Double, _ message: String) -> Void
    /// Preprocessed model inputs (images from the calibration split or folder).
    public var samples: SampleSource?
    /// Measures a candidate model on a labelled split.
    public var accuracy: AccuracyProbe?
    /// Intra-op threads the runner uses (nil: the runtime's default); for reports.
    public var threads: Int?
    /// Compiles and runs models with the server's plan cache and threads. Nil only where no
    /// runtime is linked (a technique that needs it says so through `requireRunner`).
    public var runner: (any ModelRunning)?
    /// Trains models on the request's dataset with the server's training engine (fine-tuning
    /// after pruning, distillation, QAT). Nil when the request gave no dataset.
    public var trainer: (any ModelTraining)?

    public init(progress: @escaping @Sendable (Double, String) -> Void = { _, _ in },
                samples: SampleSource? = nil, accuracy: AccuracyProbe? = nil, threads: Int? = nil,
                runner: (any ModelRunning)? = nil, trainer: (any ModelTraining)? = nil) {
        self.progress = progress
        self.samples = samples
        self.accuracy = accuracy
        self.threads = threads
        self.runner = runner
        self.trainer = trainer
    }

    /// The runner, or `notApplicable` naming what wanted it (`"calibration"`).
    public func requireRunner(for purpose: String) throws(TechniqueError) -> any ModelRunning {
        guard let runner else { throw .notApplicable("\(purpose) needs a model runner, and this context has none") }
        return runner
    }

    /// Throws `CancellationError` when the request was cancelled; call between steps.
    public func checkCancellation() throws {
        try Task.checkCancellation()
    }
}

/// A finite, indexable set of model inputs, decoded and preprocessed on demand.
public struct SampleSource: Sendable {
    /// Number of samples.
    public var count: Int
    /// Where they come from, for reports: `"100 images of train in /data/camvid"`.
    public var origin: String
    /// Inputs of sample `index` (0..<count) by graph input name.
    public var sample: @Sendable (_ index: Int) async throws -> [String: Tensor]

    public init(count: Int, origin: String, sample: @escaping @Sendable (Int) async throws -> [String: Tensor]) {
        self.count = count
        self.origin = origin
        self.sample = sample
    }
}

/// Accuracy of one model on one labelled split, as PaddleSeg computes it (fractions, 0...1).
public struct AccuracyScore: Sendable, Equatable {
    public var miou: Double
    public var pixelAccuracy: Double
    public var classIoU: [Double]
    /// Images measured.
    public var images: Int

    public init(miou: Double, pixelAccuracy: Double, classIoU: [Double], images: Int) {
        self.miou = miou
        self.pixelAccuracy = pixelAccuracy
        self.classIoU = classIoU
        self.images = images
    }

    public var json: JSONValue {
        ["miou": .double(miou), "pixelAccuracy": .double(pixelAccuracy),
         "classIoU": .array(classIoU.map { .double($0) }), "images": .int(Int64(images))]
    }
}

/// Runs a candidate model over a labelled split on the compiled runtime, with the source
/// model's preprocessing, and scores it.
public struct AccuracyProbe: Sendable {
    public var split: String
    /// Labelled images in the split.
    public var count: Int
    /// `limit`: the first N images only (nil: all). Candidates must keep the source model's
    /// input and output names and shapes.
    public var evaluate: @Sendable (_ model: Model, _ limit: Int?) async throws -> AccuracyScore

    public init(split: String, count: Int, evaluate: @escaping @Sendable (Model, Int?) async throws -> AccuracyScore) {
        self.split = split
        self.count = count
        self.evaluate = evaluate
    }
}
