import SegImaging

extension Dataset {
    /// Decodes a sample: the RGB image and, when labelled, its class-id map (after the
    /// dataset's label mapping) of the same size.
    package func load(_ sample: Sample) throws -> (image: Image, label: Image?) {
        let image = try ImageIO.load(path: sample.image)
        guard let labelPath = sample.label else { return (image, nil) }
        var label = try ImageIO.loadLabel(path: labelPath)
        guard label.width == image.width, label.height == image.height else {
            throw DatasetError.invalid(labelPath, "label is \(label.width)×\(label.height) but its image is \(image.width)×\(image.height)")
        }
        if let mapping = labelMapping {
            for i in label.pixels.indices { label.pixels[i] = mapping[Int(label.pixels[i])] }
        }
        return (image, label)
    }
}
