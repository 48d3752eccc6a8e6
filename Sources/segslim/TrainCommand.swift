import Foundation
import SegProtocol

/// `segslim train`: train a model's weights on a dataset (or one fixed batch) in the daemon;
/// writes OUT and OUT.report.json.
extension Commands {
    static let train = Command(
        name: "train", summary: "Train (or fine-tune) a model on a dataset; writes the best model by val mIoU and its report",
        usage: "segslim train MODEL.onnx (--dataset DIR [--split S] | --inputs X.npy --labels Y.npy) [--epochs N | --steps N] [--batch 8] [--crop HxW] [--scale MIN,MAX] [--no-flip] [--jitter B,C,S] [--optimizer adamw|sgd] [--lr X] [--momentum X] [--nesterov] [--weight-decay X] [--schedule cosine|poly|step|constant] [--warmup STEPS] [--loss cross_entropy|ohem|dice] [--clip-norm X] [--freeze PATTERN,...] [--freeze-bn] [--eval-every K] [--eval-split S] [--seed S] [--threads T] [--checkpoint-dir DIR] [--resume DIR] [--fold-bn] [--teacher T.onnx|ID [--kd-task W] [--kd-logits W[,T]] [--kd-channel W[,T]] [--kd-feature S=T[:W],...] [--kd-schedule constant|linear|cosine] [--kd-teacher-right]] --out OUT.onnx [--overwrite] [--json]"
    ) { args, client, options in
        let parsed = try parse(args, command: "train", options: [
            "--dataset", "--split", "--inputs", "--labels", "--epochs", "--steps", "--batch", "--crop", "--scale", "--jitter",
            "--optimizer", "--lr", "--momentum", "--weight-decay", "--schedule", "--warmup", "--loss", "--clip-norm", "--freeze",
            "--eval-every", "--eval-split", "--seed", "--threads", "--checkpoint-dir", "--resume", "--out", "--ignore-index",
            "--teacher", "--kd-task", "--kd-logits", "--kd-channel", "--kd-feature", "--kd-schedule",
        ], flags: ["--overwrite", "--no-flip", "--nesterov", "--freeze-bn", "--fold-bn", "--kd-teacher-right"])
        guard parsed.positional.count == 1 else { throw UsageError(message: "expected one MODEL.onnx", command: "train") }
        guard let out = parsed.options["--out"] else { throw UsageError(message: "--out OUT.onnx is required", command: "train") }
        let o = parsed.options
        func int(_ name: String, minimum: Int = 1) throws -> Int? {
            guard let v = o[name] else { return nil }
            guard let n = Int(v), n >= minimum else { throw UsageError(message: "\(name) needs an integer ≥ \(minimum), got '\(v)'", command: "train") }
            return n
        }
        func double(_ name: String) throws -> Double? {
            guard let v = o[name] else { return nil }
            guard let x = Double(v), x.isFinite else { throw UsageError(message: "\(name) needs a number, got '\(v)'", command: "train") }
            return x
        }
        func doubles(_ name: String, count: Int) throws -> [Double]? {
            guard let v = o[name] else { return nil }
            let parts = v.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == count else { throw UsageError(message: "\(name) needs \(count) comma-separated numbers, got '\(v)'", command: "train") }
            return parts
        }
        if o["--dataset"] == nil && o["--inputs"] == nil {
            throw UsageError(message: "give --dataset DIR, or a fixed batch with --inputs X.npy --labels Y.npy", command: "train")
        }
        if o["--epochs"] != nil && o["--steps"] != nil { throw UsageError(message: "give --epochs or --steps, not both", command: "train") }
        let model = try resident(parsed.positional[0], client)
        var p = ModelTrainRequest.Params(id: model.id)
        p.dataset = o["--dataset"].map { absolute($0) }
        p.split = o["--split"]
        p.inputs = o["--inputs"].map { absolute($0) }
        p.labels = o["--labels"].map { absolute($0) }
        p.epochs = try int("--epochs")
        p.steps = try int("--steps")
        p.batchSize = try int("--batch")
        if let crop = o["--crop"] {
            let parts = crop.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw UsageError(message: "--crop needs HEIGHTxWIDTH (e.g. 240x320), got '\(crop)'", command: "train") }
            p.crop = parts
        }
        let jitter = try doubles("--jitter", count: 3)
        if o["--scale"] != nil || parsed.flags.contains("--no-flip") || jitter != nil {
            p.augmentation = .init(scale: try doubles("--scale", count: 2), flip: parsed.flags.contains("--no-flip") ? false : nil,
                                   brightness: jitter?[0], contrast: jitter?[1], saturation: jitter?[2])
        }
        p.optimizer = o["--optimizer"]
        p.lr = try double("--lr")
        p.momentum = try double("--momentum")
        p.nesterov = parsed.flags.contains("--nesterov") ? true : nil
        p.weightDecay = try double("--weight-decay")
        p.schedule = o["--schedule"]
        p.warmupSteps = try int("--warmup", minimum: 0)
        p.loss = o["--loss"]
        p.clipNorm = try double("--clip-norm")
        p.freeze = o["--freeze"].map { $0.split(separator: ",").map(String.init) }
        p.freezeBatchNorm = parsed.flags.contains("--freeze-bn") ? true : nil
        p.evalEvery = try int("--eval-every", minimum: 0)
        p.evalSplit = o["--eval-split"]
        p.seed = try int("--seed", minimum: 0)
        p.threads = try int("--threads")
        p.ignoreIndex = try int("--ignore-index", minimum: 0)
        p.checkpointDir = o["--checkpoint-dir"].map { absolute($0) }
        p.resumeFrom = o["--resume"].map { absolute($0) }
        p.foldBatchNorm = parsed.flags.contains("--fold-bn") ? true : nil
        p.outputPath = absolute(out)
        p.overwrite = parsed.flags.contains("--overwrite") ? true : nil
        if let teacher = o["--teacher"] {
            // A path when such a file exists here (the daemon may run elsewhere), else a resident id.
            p.teacher = FileManager.default.fileExists(atPath: teacher) ? absolute(teacher) : teacher
            p.distillation = try distillationOptions(o, teacherRightOnly: parsed.flags.contains("--kd-teacher-right"), command: "train")
        } else if let stray = ["--kd-task", "--kd-logits", "--kd-channel", "--kd-feature", "--kd-schedule"].first(where: { o[$0] != nil })
                    ?? (parsed.flags.contains("--kd-teacher-right") ? "--kd-teacher-right" : nil) {
            throw UsageError(message: "\(stray) needs --teacher", command: "train")
        }
        let r: ModelTrainRequest.Result
        do {
            r = try client.send(ModelTrainRequest.self, p, progress: progressPrinter(options))
        } catch let error as DaemonError where error.error.code == .requestCancelled {
            // A cancelled training run still writes the best model so far: say where.
            if let path = p.outputPath, FileManager.default.fileExists(atPath: path + ".report.json") {
                FileHandle.standardError.write(Data("segslim: the best model so far is in \(path) (report \(path).report.json)\n".utf8))
            }
            throw error
        }
        if !options.json {
            Table.printKeyValues([("model", r.path ?? "(not written)"), ("report", r.path.map { $0 + ".report.json" } ?? "-")])
            let report = r.report
            var rows: [(String, String)] = [
                ("steps", "\(report["steps"]?.intValue ?? 0) in \(report["epochs"]?.intValue ?? 0) epoch(s)"),
                ("step p50", String(format: "%.1f ms", report["stepMsP50"]?.doubleValue ?? 0)),
                ("images/s", String(format: "%.2f", report["imagesPerSecond"]?.doubleValue ?? 0)),
                ("final loss", String(format: "%.4f", report["finalLoss"]?.doubleValue ?? .nan)),
            ]
            if let best = report["bestValMiou"]?.doubleValue {
                rows.append(("best val mIoU", String(format: "%.4f (epoch %d)", best, Int(report["bestEpoch"]?.intValue ?? 0))))
            }
            Table.printKeyValues(rows)
        }
        var json = ModelTrainRequest.json(r).objectValue ?? [:]
        json["output"] = r.path.map(JSONValue.string) ?? .null
        return .object(json)
    }
}

extension Commands {
    /// `--kd-task W`, `--kd-logits W[,T]`, `--kd-channel W[,T]`, `--kd-feature S=T[:W],...`,
    /// `--kd-teacher-right` as `params.distillation` (nil when none is given: the daemon's defaults).
    static func distillationOptions(_ o: [String: String], teacherRightOnly: Bool = false, command: String) throws -> ModelTrainRequest.Distillation? {
        func weightAndTemperature(_ name: String) throws -> (Double, Double?)? {
            guard let v = o[name] else { return nil }
            let parts = v.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard (1...2).contains(parts.count), let w = parts[0], parts.allSatisfy({ $0 != nil }) else {
                throw UsageError(message: "\(name) needs WEIGHT or WEIGHT,TEMPERATURE, got '\(v)'", command: command)
            }
            return (w, parts.count == 2 ? parts[1] : nil)
        }
        var d = ModelTrainRequest.Distillation()
        if let v = o["--kd-task"] {
            guard let w = Double(v) else { throw UsageError(message: "--kd-task needs a weight, got '\(v)'", command: command) }
            d.taskWeight = w
        }
        if let (w, t) = try weightAndTemperature("--kd-logits") { d.logitWeight = w; d.logitTemperature = t }
        if let (w, t) = try weightAndTemperature("--kd-channel") { d.channelWiseWeight = w; d.channelWiseTemperature = t }
        d.schedule = o["--kd-schedule"]
        if teacherRightOnly { d.onlyWhereTeacherIsRight = true }
        if let v = o["--kd-feature"] {
            d.features = try v.split(separator: ",").map { item in
                let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2, !pair[0].isEmpty else {
                    throw UsageError(message: "--kd-feature needs STUDENT=TEACHER[:WEIGHT], got '\(item)'", command: command)
                }
                let rhs = pair[1].split(separator: ":", maxSplits: 1).map(String.init)
                let weight = rhs.count == 2 ? Double(rhs[1]) : nil
                if rhs.count == 2 && weight == nil { throw UsageError(message: "--kd-feature weight '\(rhs[1])' is not a number", command: command) }
                return .init(student: pair[0], teacher: rhs[0], weight: weight)
            }
        }
        return d == ModelTrainRequest.Distillation() ? nil : d
    }
}
