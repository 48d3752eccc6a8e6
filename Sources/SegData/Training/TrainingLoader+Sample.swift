import SegImaging

extension TrainingLoader {
    /// Sample `index` of the split as epoch `epoch` presents it: decoded, label-checked,
    /// augmented (see `AugmentationConfig` for the order) and normalized. Pure: the same
    /// arguments always give the same result, on any thread.
    package func sample(epoch: Int, index: Int) throws(TrainingDataError) -> TrainingSample {
        let entry = samples[index]
        let params = augmentation(epoch: epoch, sampleIndex: index)
        let (image, label) = try decode(entry)
        var scaledH = image.height, scaledW = image.width
        if params.scale != 1 {
            scaledH = max(1, Int((Float(image.height) * params.scale).rounded()))
            scaledW = max(1, Int((Float(image.width) * params.scale).rounded()))
        }
        // The crop window is chosen on the scaled, flipped sample; its pixels are the mirror
        // window of the unflipped one, so only that window is resized, then flipped.
        let outH = augmentation.crop?.height ?? scaledH, outW = augmentation.crop?.width ?? scaledW
        let origin: (y: Int, x: Int) = augmentation.crop.map { params.cropOrigin(height: scaledH, width: scaledW, crop: $0) } ?? (0, 0)
        let realH = min(outH, scaledH - origin.y), realW = min(outW, scaledW - origin.x)
        let window = ResizeRegion(x: params.flip ? scaledW - origin.x - realW : origin.x, y: origin.y, width: realW, height: realH)
        var region: Image, labelRegion: Image
        if scaledH == image.height, scaledW == image.width {
            region = image.window(window)
            labelRegion = label.window(window)
        } else {
            do throws(ImagingError) {
                region = try image.resizedBilinear(width: scaledW, height: scaledH, region: window)
                labelRegion = try label.resizedNearest(width: scaledW, height: scaledH, region: window, rule: .floor)
            } catch {
                throw .unreadable("\(entry.image): scaling by \(params.scale): \(error.description)")
            }
        }
        if params.flip {
            region = region.oriented(.upMirrored)
            labelRegion = labelRegion.oriented(.upMirrored)
        }
        if augmentation.jitters { region = Self.jitter(region, params) }
        let planes: [Float]
        do throws(ImagingError) {
            planes = try region.normalizedCHW(mean: normalization.mean, std: normalization.std, scale: normalization.scale)
        } catch {
            throw .invalidConfiguration("normalization: \(error.description)")
        }
        // Padding sits at the bottom and right: 0 is the mean colour after normalization.
        var out = [Float](repeating: 0, count: 3 * outH * outW)
        var labels = [Int32](repeating: Int32(dataset.ignoreIndex), count: outH * outW)
        for c in 0..<3 {
            for y in 0..<realH {
                let src = (c * realH + y) * realW, dst = (c * outH + y) * outW
                out.replaceSubrange(dst..<dst + realW, with: planes[src..<src + realW])
            }
        }
        for y in 0..<realH {
            for x in 0..<realW { labels[y * outW + x] = Int32(labelRegion.pixels[y * realW + x]) }
        }
        return TrainingSample(image: out, label: labels, height: outH, width: outW, index: index)
    }

    /// RGB image and mapped label, with every label value checked against the classes.
    private func decode(_ entry: Dataset.Sample) throws(TrainingDataError) -> (Image, Image) {
        let loaded: (image: Image, label: Image?)
        do {
            loaded = try dataset.load(entry)
        } catch let error as ImagingError {
            throw .unreadable(error.description)
        } catch let error as DatasetError {
            throw .unreadable(error.description)
        } catch {
            throw .unreadable("\(entry.image): \(error)")
        }
        guard let label = loaded.label, let labelPath = entry.label else { throw .missingLabel(image: entry.image, label: entry.label) }
        // Nearest-neighbour scaling never invents values, so checking the whole file here
        // catches every bad value whatever the crop later keeps.
        var valid = [Bool](repeating: false, count: 256)
        for v in 0..<min(256, dataset.numClasses) { valid[v] = true }
        if (0..<256).contains(dataset.ignoreIndex) { valid[dataset.ignoreIndex] = true }
        if let bad = label.pixels.first(where: { !valid[Int($0)] }) {
            throw .labelOutOfRange(file: labelPath, value: Int(bad), numClasses: dataset.numClasses, ignoreIndex: dataset.ignoreIndex)
        }
        return (loaded.image.rgb(), label)
    }

    // MARK: - Colour jitter (8-bit, PIL ImageEnhance semantics)

    static func jitter(_ image: Image, _ params: SampleAugmentation) -> Image {
        var out = image
        for op in params.jitterOrder {
            switch op {
            case .brightness where params.brightness != 1:
                let f = params.brightness
                out = mapped(out) { Float($0) * f }
            case .contrast where params.contrast != 1:
                let f = params.contrast, mean = meanGray(out)
                out = mapped(out) { f * Float($0) + (1 - f) * mean }
            case .saturation where params.saturation != 1:
                out = saturated(out, params.saturation)
            default: break
            }
        }
        return out
    }

    /// Nearest 8-bit value, halves up (what `rounded()` gives for these non-negative values,
    /// without its libm call: a quarter of the jitter's time in a profile).
    static func clamp8(_ v: Float) -> UInt8 { UInt8(Int(min(255, max(0, v)) + 0.5)) }

    /// Every sample through one 256-entry table.
    private static func mapped(_ image: Image, _ f: (UInt8) -> Float) -> Image {
        let table = (0..<256).map { clamp8(f(UInt8($0))) }
        var out = image
        out.pixels.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = table[Int(p[i])] }
        }
        return out
    }

    /// ITU-R 601-2 luma (what PIL's `convert("L")` and torchvision's grayscale use).
    static func gray(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Float {
        0.299 * Float(r) + 0.587 * Float(g) + 0.114 * Float(b)
    }

    static func meanGray(_ image: Image) -> Float {
        var sum: Double = 0
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            sum += Double(gray(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]))
        }
        return Float(sum / Double(max(1, image.pixels.count / 3)))
    }

    private static func saturated(_ image: Image, _ f: Float) -> Image {
        var out = image
        out.pixels.withUnsafeMutableBufferPointer { p in
            for i in stride(from: 0, to: p.count - 2, by: 3) {
                let g = (1 - f) * gray(p[i], p[i + 1], p[i + 2])
                for c in 0..<3 { p[i + c] = clamp8(f * Float(p[i + c]) + g) }
            }
        }
        return out
    }
}

extension Image {
    /// The pixels inside `r`; the caller keeps it inside the image.
    func window(_ r: ResizeRegion) -> Image {
        if r.x == 0, r.y == 0, r.width == width, r.height == height { return self }
        var out = [UInt8]()
        out.reserveCapacity(r.width * r.height * channels)
        for row in r.y..<r.y + r.height {
            let start = (row * width + r.x) * channels
            out.append(contentsOf: pixels[start..<start + r.width * channels])
        }
        // Same channels, a size inside this image's: cannot fail validation.
        return (try? Image(width: r.width, height: r.height, channels: channels, pixels: out)) ?? self
    }
}
