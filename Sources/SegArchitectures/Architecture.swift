/// The student architectures `model/build` knows, by their wire names.
package enum Architecture: String, CaseIterable, Sendable {
    case lrasppMobileNetV3Large = "lraspp-mobilenetv3-large"
    case lrasppMobileNetV3Small = "lraspp-mobilenetv3-small"
    case deeplabV3MobileNetV3Large = "deeplabv3-mobilenetv3-large"
    case deeplabV3MobileNetV3Small = "deeplabv3-mobilenetv3-small"
    case lrasppShuffleNetV2x05 = "lraspp-shufflenetv2-0.5"
    case lrasppShuffleNetV2x10 = "lraspp-shufflenetv2-1.0"
    case lrasppGhostNet = "lraspp-ghostnet"

    /// One line for listings.
    package var summary: String {
        switch self {
        case .lrasppMobileNetV3Large: "torchvision lraspp_mobilenet_v3_large: LRASPP head on dilated MobileNetV3-Large"
        case .lrasppMobileNetV3Small: "torchvision's LRASPP head on dilated MobileNetV3-Small"
        case .deeplabV3MobileNetV3Large: "torchvision deeplabv3_mobilenet_v3_large: ASPP (rates 12/24/36) on dilated MobileNetV3-Large"
        case .deeplabV3MobileNetV3Small: "torchvision's DeepLabV3 head (ASPP 12/24/36) on dilated MobileNetV3-Small"
        case .lrasppShuffleNetV2x05: "LRASPP head on torchvision ShuffleNetV2 0.5x (stage4 dilated; low: stage2, high: conv5)"
        case .lrasppShuffleNetV2x10: "LRASPP head on torchvision ShuffleNetV2 1.0x (stage4 dilated; low: stage2, high: conv5)"
        case .lrasppGhostNet: "LRASPP head on GhostNet (last stride dilated; low: stage 4, high: the 960-channel conv)"
        }
    }

    /// Width multipliers the builder accepts; ShuffleNetV2's width is in its name.
    package var widthRange: ClosedRange<Double> {
        switch self {
        case .lrasppShuffleNetV2x05, .lrasppShuffleNetV2x10: 1...1
        default: 0.25...2
        }
    }

    package static var names: [String] { allCases.map(\.rawValue) }
}
