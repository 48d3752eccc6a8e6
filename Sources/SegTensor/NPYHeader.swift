/// The dictionary at the start of a `.npy` file, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
///
/// It is a Python literal; we parse the small subset numpy writes (strings, True/False,
/// integers, tuples) rather than evaluating anything.
struct NPYHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    private enum Literal {
        case string(String), bool(Bool), int(Int), tuple([Literal]), none
    }

    static func parse(_ text: String, file: String) throws(TensorError) -> NPYHeader {
        var parser = Parser(chars: Array(text.unicodeScalars), file: file)
        let dict = try parser.parseDict()
        func field(_ key: String) throws(TensorError) -> Literal {
            guard let value = dict[key] else {
                throw .npy(file: file, field: "header", message: "missing key '\(key)'")
            }
            return value
        }
        let extra = Set(dict.keys).subtracting(["descr", "fortran_order", "shape"])
        guard extra.isEmpty else {
            throw .npy(file: file, field: "header", message: "unexpected keys \(extra.sorted())")
        }
        guard case .string(let descr) = try field("descr") else {
            throw .npy(file: file, field: "descr", message: "structured dtypes are not supported")
        }
        guard case .bool(let fortran) = try field("fortran_order") else {
            throw .npy(file: file, field: "fortran_order", message: "expected True or False")
        }
        guard case .tuple(let items) = try field("shape") else {
            throw .npy(file: file, field: "shape", message: "expected a tuple of integers")
        }
        var shape: [Int] = []
        for item in items {
            guard case .int(let dim) = item else {
                throw .npy(file: file, field: "shape", message: "expected a tuple of integers")
            }
            shape.append(dim)
        }
        return NPYHeader(descr: descr, fortranOrder: fortran, shape: shape)
    }

    /// Text numpy's `_write_array_header` produces (keys sorted, trailing ", ", spare spaces so
    /// the first axis can grow in place), before the alignment padding.
    var text: String {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(shapeText), }"
        if let growthAxis = fortranOrder ? shape.last : shape.first {
            header += String(repeating: " ", count: max(0, 21 - String(growthAxis).count))
        }
        return header
    }

    // MARK: - Literal parser

    private struct Parser {
        let chars: [Unicode.Scalar]
        let file: String
        var index = 0

        private func fail(_ message: String) -> TensorError {
            .npy(file: file, field: "header", message: "\(message) at character \(index)")
        }

        private mutating func skipSpace() {
            while index < chars.count, chars[index].properties.isWhitespace { index += 1 }
        }

        private mutating func expect(_ c: Unicode.Scalar) throws(TensorError) {
            skipSpace()
            guard index < chars.count, chars[index] == c else { throw fail("expected '\(c)'") }
            index += 1
        }

        private mutating func peek() -> Unicode.Scalar? {
            skipSpace()
            return index < chars.count ? chars[index] : nil
        }

        mutating func parseDict() throws(TensorError) -> [String: Literal] {
            try expect("{")
            var dict: [String: Literal] = [:]
            while peek() != "}" {
                guard case .string(let key) = try parseValue() else { throw fail("expected a string key") }
                try expect(":")
                dict[key] = try parseValue()
                if peek() == "," { index += 1 } else { break }
            }
            try expect("}")
            skipSpace()
            guard index == chars.count else { throw fail("unexpected text after the dictionary") }
            return dict
        }

        private mutating func parseValue() throws(TensorError) -> Literal {
            guard let c = peek() else { throw fail("unexpected end") }
            switch c {
            case "'", "\"":
                index += 1
                var value = ""
                while index < chars.count, chars[index] != c {
                    value.unicodeScalars.append(chars[index])
                    index += 1
                }
                try expect(c)
                return .string(value)
            case "(":
                index += 1
                var items: [Literal] = []
                while peek() != ")" {
                    items.append(try parseValue())
                    if peek() == "," { index += 1 } else { break }
                }
                try expect(")")
                return .tuple(items)
            case "[":
                throw .npy(file: file, field: "descr", message: "structured dtypes are not supported")
            case "-", "0"..."9":
                var digits = ""
                while index < chars.count, chars[index] == "-" || ("0"..."9").contains(chars[index]) {
                    digits.unicodeScalars.append(chars[index])
                    index += 1
                }
                if index < chars.count, chars[index] == "L" { index += 1 }  // Python 2 long suffix
                guard let value = Int(digits) else { throw fail("integer '\(digits)' out of range") }
                return .int(value)
            default:
                var word = ""
                while index < chars.count, chars[index].properties.isAlphabetic {
                    word.unicodeScalars.append(chars[index])
                    index += 1
                }
                switch word {
                case "True": return .bool(true)
                case "False": return .bool(false)
                case "None": return .none
                default: throw fail("unexpected '\(word.isEmpty ? String(c) : word)'")
                }
            }
        }
    }
}
