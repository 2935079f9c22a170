import Foundation
import CEL
import KubeCore
import NIOConcurrencyHelpers

/// `x-kubernetes-validations` (CEL) rules of a CRD schema: compiled when the CRD is written, evaluated
/// on every create and update of its objects.
///
/// Follows apiextensions-apiserver `pkg/apiserver/schema/cel/validation.go` (evaluation, error wording,
/// cost budget, transition rules) and `pkg/apis/apiextensions/validation/validation.go` (compile errors
/// on the CRD).
enum CELRules {
  // MARK: compile

  /// One rule of a schema node, compiled.
  struct CompiledRule {
    var rule: JSONValue
    var program: CELProgram
    var messageExpression: CELProgram?
  }

  private struct ProgramKey: Hashable {
    var source: String, node: JSONValue, isRoot: Bool, optionalOldSelf: Bool
  }
  nonisolated(unsafe) private static var programs: [ProgramKey: CELProgram] = [:]
  private static let programsLock = NIOLock()

  /// The compiled program of a rule at a schema node, compiled once and cached (as upstream compiles
  /// a CRD's rules once per schema).
  static func program(_ source: String, node: JSONValue, isRoot: Bool, optionalOldSelf: Bool) throws(CELCompileError) -> CELProgram {
    let key = ProgramKey(source: source, node: node, isRoot: isRoot, optionalOldSelf: optionalOldSelf)
    if let cached = programsLock.withLock({ programs[key] }) { return cached }
    let program = try CELProgram.compile(source, variables: declarations(for: node, isRoot: isRoot, optionalOldSelf: optionalOldSelf))
    programsLock.withLock {
      if programs.count > 4096 { programs.removeAll() }
      programs[key] = program
    }
    return program
  }

  /// Declarations for the rules of a node: `self`, and `oldSelf` (optional when `optionalOldSelf`).
  static func declarations(for node: JSONValue, isRoot: Bool, optionalOldSelf: Bool) -> [String: CELType] {
    let type = CELType.of(schema: isRoot ? CELType.withTypeAndObjectMeta(node) : node)
    return ["self": type, "oldSelf": optionalOldSelf ? .optional(type) : type]
  }

  /// Compiles every rule of the schema, returning the errors kube-apiserver gives for a CRD whose rules
  /// do not compile, e.g. `spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule:
  /// Invalid value: apiextensions.ValidationRule{…}: compilation failed: ERROR: <input>:1:6: …`.
  static func checkCompiles(_ schema: JSONValue, path: String) -> [FieldError] {
    var errors: [FieldError] = []
    var costs = CostTotal()
    // `cardinality`: how many times a rule here may run per object, nil below a list or map without a
    // bound (then the rule's own node decides; see `ruleCost`); `uncorrelatable`: the first list above
    // it that is not a list-type=map.
    func walk(_ s: JSONValue, _ p: String, isRoot: Bool, cardinality: UInt64?, uncorrelatable: String?) {
      for (j, rule) in (s["x-kubernetes-validations"]?.arrayValue ?? []).enumerated() {
        errors += compileErrors(rule, node: s, isRoot: isRoot, path: "\(p).x-kubernetes-validations[\(j)]",
                                cardinality: cardinality, uncorrelatable: uncorrelatable, costs: &costs)
      }
      let children = childCardinality(cardinality, of: s)
      for (k, v) in s["properties"]?.objectValue ?? JSONObject() {
        walk(v, "\(p).properties[\(k)]", isRoot: false, cardinality: children, uncorrelatable: uncorrelatable)
      }
      if let items = s["items"], case .object = items {
        let correlates = s["x-kubernetes-list-type"]?.stringValue == "map"
        walk(items, "\(p).items", isRoot: false, cardinality: children, uncorrelatable: uncorrelatable ?? (correlates ? nil : p))
      }
      if let a = s["additionalProperties"], case .object = a {
        walk(a, "\(p).additionalProperties", isRoot: false, cardinality: children, uncorrelatable: uncorrelatable)
      }
    }
    walk(schema, path, isRoot: true, cardinality: 1, uncorrelatable: nil)
    return errors + costs.errors(schemaPath: path)
  }

  static let reasons = ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"]

  private static func compileErrors(_ rule: JSONValue, node: JSONValue, isRoot: Bool, path: String,
                                    cardinality: UInt64?, uncorrelatable: String?, costs: inout CostTotal) -> [FieldError] {
    let source = rule["rule"]?.stringValue ?? ""
    let printed = goValidationRule(rule)
    if source.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
      return [FieldError(.required, field: "\(path).rule", detail: "rule is not specified")]
    }
    var errors: [FieldError] = []
    if let reason = rule["reason"]?.stringValue, !reasons.contains(reason) {
      errors.append(FieldError(.notSupported, field: "\(path).reason", value: "\"\(reason)\"",
                               detail: "supported values: " + reasons.map { "\"\($0)\"" }.joined(separator: ", ")))
    }
    if let message = rule["message"]?.stringValue, message.contains("\n") || message.contains("\r") {
      errors.append(FieldError(.invalid, field: "\(path).message", value: message.goQuoted, detail: "message must not contain line breaks"))
    }
    if let fieldPath = rule["fieldPath"]?.stringValue, !fieldPath.isEmpty, resolveFieldPath(fieldPath, in: node) == nil {
      errors.append(FieldError(.invalid, field: "\(path).fieldPath", value: fieldPath.goQuoted, detail: "fieldPath must be a valid path"))
    }
    if source.contains("\n") && (rule["message"]?.stringValue ?? "").isEmpty {
      errors.append(FieldError(.required, field: "\(path).message", detail: "message must be specified if rule contains line breaks"))
    }
    let variables = declarations(for: node, isRoot: isRoot, optionalOldSelf: rule["optionalOldSelf"]?.boolValue == true)
    do {
      let program = try CELProgram.compile(source, variables: variables)
      if program.outputType != .bool && program.outputType != .dyn {
        errors.append(FieldError(.invalid, field: "\(path).rule", value: printed, detail: "cel expression must evaluate to a bool"))
      }
      if program.outputType == .bool || program.outputType == .dyn {
        let cost = ruleCost(program, node: node, isRoot: isRoot, variables: variables, cardinality: cardinality)
        if cost > staticEstimatedCostLimit {
          errors.append(FieldError(.forbidden, field: "\(path).rule",
                                   detail: costErrorMessage("estimated rule cost", cost: cost, limit: staticEstimatedCostLimit)))
        }
        costs.observe("\(path).rule", cost: cost)
      }
      if program.usesOldSelf, let uncorrelatable {
        errors.append(FieldError(.invalid, field: "\(path).rule", value: source.goQuoted,
                                 detail: "oldSelf cannot be used on the uncorrelatable portion of the schema within \(uncorrelatable)"))
      }
    } catch {
      errors.append(FieldError(.invalid, field: "\(path).rule", value: printed, detail: "compilation failed: " + error.render(source: source)))
    }
    if let messageSource = rule["messageExpression"]?.stringValue, !messageSource.isEmpty {
      do {
        let program = try CELProgram.compile(messageSource, variables: variables)
        if program.outputType != .string && program.outputType != .dyn {
          errors.append(FieldError(.invalid, field: "\(path).messageExpression", value: printed, detail: "must evaluate to a string"))
        }
        if program.outputType == .string || program.outputType == .dyn {
          // counted once: upstream does not multiply a message expression by its cardinality
          let cost = expressionCost(program, node: node, isRoot: isRoot, variables: variables)
          if cost > staticEstimatedCostLimit {
            errors.append(FieldError(.forbidden, field: "\(path).messageExpression",
                                     detail: costErrorMessage("estimated messageExpression cost", cost: cost, limit: staticEstimatedCostLimit)))
          }
          costs.observe("\(path).messageExpression", cost: cost)
        }
      } catch {
        errors.append(FieldError(.invalid, field: "\(path).messageExpression", value: printed,
                                 detail: "messageExpression compilation failed: " + error.render(source: messageSource)))
      }
    }
    return errors
  }

  /// A ValidationRule as Go's `%#v` prints it in kube-apiserver's field errors.
  static func goValidationRule(_ rule: JSONValue) -> String {
    func q(_ key: String) -> String { (rule[key]?.stringValue ?? "").goQuoted }
    let reason = rule["reason"]?.stringValue.map { _ in "(*apiextensions.FieldValueErrorReason)(0xc000000000)" } ?? "(*apiextensions.FieldValueErrorReason)(nil)"
    let optional = rule["optionalOldSelf"]?.boolValue.map { _ in "(*bool)(0xc000000000)" } ?? "(*bool)(nil)"
    return "apiextensions.ValidationRule{Rule:\(q("rule")), Message:\(q("message")), MessageExpression:\(q("messageExpression")), Reason:\(reason), FieldPath:\(q("fieldPath")), OptionalOldSelf:\(optional)}"
  }

  /// Resolves a rule's `fieldPath` (`.foo.bar`, `.map['key']`) against the schema node it is scoped
  /// to, returning the field path suffix Kubernetes reports (`foo.bar`, `map[key]`), or nil when it does
  /// not name a field of the schema (apiextensions-apiserver `pkg/apiserver/schema/cel/validation.go`
  /// `ValidFieldPath`; numeric list indexes are not allowed).
  static func resolveFieldPath(_ fieldPath: String, in node: JSONValue) -> String? {
    let s = Array(fieldPath.unicodeScalars)
    var i = 0
    var schema = node
    var out = ""
    func step(_ name: String) -> Bool {
      if let p = schema["properties"]?[name] {
        out += out.isEmpty ? name : ".\(name)"
        schema = p
        return true
      }
      if let a = schema["additionalProperties"], case .object = a {
        out += "[\(name)]"
        schema = a
        return true
      }
      return false
    }
    while i < s.count {
      if s[i] == "." {
        i += 1
        var name = ""
        while i < s.count, s[i] != ".", s[i] != "[" { name.unicodeScalars.append(s[i]); i += 1 }
        guard !name.isEmpty, step(name) else { return nil }
      } else if s[i] == "[" {
        guard i + 1 < s.count, s[i + 1] == "'" else { return nil }
        i += 2
        var name = ""
        while i < s.count, s[i] != "'" {
          if s[i] == "\\", i + 1 < s.count { i += 1 }
          name.unicodeScalars.append(s[i]); i += 1
        }
        guard i + 1 < s.count, s[i + 1] == "]" else { return nil }
        i += 2
        guard step(name) else { return nil }
      } else {
        return nil
      }
    }
    return out.isEmpty ? nil : out
  }

  // MARK: evaluate

  /// Evaluates every rule against `object` (and `old` on updates), with upstream's per-call limit and
  /// per-object budget. Call only when the object passed its type checks.
  /// - Parameter compiled: `schema`'s rules compiled (`CompiledRules(schema)`); built here when not given.
  static func validate(_ object: JSONValue, old: JSONValue?, schema: JSONValue, compiled: CompiledRules? = nil) -> [FieldError] {
    var run = Run()
    guard case .object = object, let node = (compiled ?? CompiledRules(schema)).root else { return [] }
    // the root also sees apiVersion, kind and metadata.name/generateName; CELValue.from drops the rest
    run.validate(object, old: old, schema: schema, celSchema: CELType.withTypeAndObjectMeta(schema), node: node, path: "", isRoot: true)
    return run.errors
  }

  /// A schema's rules compiled once, in a tree that mirrors the schema nodes evaluation descends
  /// into (properties, else `additionalProperties`; `items`), holding only the nodes with rules at
  /// or below them. Evaluation looks each node's programs up here instead of by rule source and
  /// schema node in `program(_:node:…)`'s cache (whose key hashes the whole schema node: the
  /// `spec` node's rules hashed the whole spec schema on every write), and skips the parts of an
  /// object whose schema has no rules.
  struct CompiledRules: Sendable {
    let root: Node?

    init(_ schema: JSONValue) { root = Node.build(schema, isRoot: true) }

    final class Node: Sendable {
      /// Each of the node's `x-kubernetes-validations`, compiled (or why it does not compile).
      let programs: [Result<CELProgram, CELCompileError>]
      let properties: [String: Node]
      let additionalProperties: Node?
      let items: Node?

      private init(programs: [Result<CELProgram, CELCompileError>], properties: [String: Node], additionalProperties: Node?, items: Node?) {
        self.programs = programs
        self.properties = properties
        self.additionalProperties = additionalProperties
        self.items = items
      }

      /// The node for `schema`, nil when neither it nor anything below it has rules.
      static func build(_ schema: JSONValue, isRoot: Bool) -> Node? {
        let rules = schema["x-kubernetes-validations"]?.arrayValue ?? []
        let programs = rules.map { rule in
          Result { () throws(CELCompileError) -> CELProgram in
            try CELRules.program(rule["rule"]?.stringValue ?? "", node: schema, isRoot: isRoot,
                                 optionalOldSelf: rule["optionalOldSelf"]?.boolValue == true)
          }
        }
        var properties: [String: Node] = [:]
        var additional: Node? = nil
        if let props = schema["properties"]?.objectValue {
          for (k, p) in props { properties[k] = build(p, isRoot: false) }
        } else if let a = schema["additionalProperties"], case .object = a {
          additional = build(a, isRoot: false)
        }
        let items = schema["items"].flatMap { build($0, isRoot: false) }
        if programs.isEmpty && properties.isEmpty && additional == nil && items == nil { return nil }
        return Node(programs: programs, properties: properties, additionalProperties: additional, items: items)
      }
    }
  }

  /// One object's evaluation: the errors so far and the budget left.
  struct Run {
    var errors: [FieldError] = []
    var budget: UInt64 = CELCost.runtimeBudget
    var stopped = false

    /// Evaluates the rules of `schema` (compiled in `node`) and of the nodes below it that have rules.
    mutating func validate(_ value: JSONValue, old: JSONValue?, schema: JSONValue, celSchema: JSONValue, node: CompiledRules.Node,
                           path: String, isRoot: Bool) {
      if stopped || value == .null { return }
      let old = old == .null ? nil : old
      if let rules = schema["x-kubernetes-validations"]?.arrayValue, !rules.isEmpty {
        evaluateRules(rules, programs: node.programs, value: value, old: old, schema: schema, celSchema: celSchema, path: path, isRoot: isRoot)
      }
      switch value {
      case .object(let o):
        if let props = schema["properties"]?.objectValue {
          guard !node.properties.isEmpty else { break }
          for (k, v) in o {
            guard let child = node.properties[k], let p = props[k] else { continue }
            validate(v, old: old?[k], schema: p, celSchema: p, node: child, path: join(path, k), isRoot: false)
          }
        } else if let additional = schema["additionalProperties"], case .object = additional, let child = node.additionalProperties {
          for (k, v) in o {
            validate(v, old: old?[k], schema: additional, celSchema: additional, node: child, path: "\(path)[\(k)]", isRoot: false)
          }
        }
      case .array(let items):
        guard let itemSchema = schema["items"], let child = node.items else { break }
        let keys = schema["x-kubernetes-list-type"]?.stringValue == "map"
          ? schema["x-kubernetes-list-map-keys"]?.arrayValue?.compactMap(\.stringValue) ?? [] : []
        for (i, item) in items.enumerated() {
          // only list-type=map items correlate with an old item (by their keys)
          var oldItem: JSONValue?
          if !keys.isEmpty, let oldItems = old?.arrayValue {
            oldItem = oldItems.first { candidate in keys.allSatisfy { candidate[$0] == item[$0] } }
          }
          validate(item, old: oldItem, schema: itemSchema, celSchema: itemSchema, node: child, path: "\(path)[\(i)]", isRoot: false)
        }
      default:
        break
      }
    }

    private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private mutating func evaluateRules(_ rules: [JSONValue], programs: [Result<CELProgram, CELCompileError>], value: JSONValue,
                                        old: JSONValue?, schema: JSONValue, celSchema: JSONValue, path: String, isRoot: Bool) {
      let typeText = "\"\(schema["type"]?.stringValue ?? value.typeName)\""
      let path = path.isEmpty ? "<nil>" : path   // upstream's nil field path at the resource root
      let selfValue = CELValue.from(value, schema: celSchema)
      // An unchanged value (a status write leaves the spec as stored) converts to the same CEL value.
      let oldValue = old.map { $0 == value ? selfValue : CELValue.from($0, schema: celSchema) }
      for (index, rule) in rules.enumerated() {
        let source = rule["rule"]?.stringValue ?? ""
        // Only an error message needs it.
        var ruleText: String { Run.ruleErrorString(rule) }
        let optionalOldSelf = rule["optionalOldSelf"]?.boolValue == true
        let program: CELProgram
        do { program = try programs[index].get() } catch {
          // refused at CRD creation; reaching here means the CRD predates a checker change
          errors.append(FieldError(.invalid, field: path, value: typeText, detail: "rule compile error: compilation failed: \(error.render(source: source))"))
          continue
        }
        if program.usesOldSelf && oldValue == nil && !optionalOldSelf { continue }   // transition rules need an old value
        var bindings: [String: CELValue] = ["self": selfValue]
        if optionalOldSelf { bindings["oldSelf"] = .optional(oldValue) } else if let oldValue { bindings["oldSelf"] = oldValue }
        if budget == 0 {
          errors.append(FieldError(.invalid, field: path, value: typeText, detail: "validation failed due to running out of cost budget, no further validation rules will be run"))
          stopped = true
          return
        }
        let result: CELValue
        do {
          let (v, cost) = try program.evaluate(bindings, costLimit: min(CELCost.perCallLimit, budget))
          budget -= min(cost, budget)
          result = v
        } catch .costLimitExceeded {
          errors.append(FieldError(.invalid, field: path, value: typeText,
                                   detail: "'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: \(ruleText)"))
          stopped = true
          return
        } catch {
          if error.description.hasPrefix("no such overload") {
            errors.append(FieldError(.invalid, field: path, value: typeText,
                                     detail: "'\(error)': call arguments did not match a supported operator, function or macro signature for rule: \(ruleText)"))
          } else {
            errors.append(FieldError(.invalid, field: path, value: typeText, detail: "\(error) evaluating rule: \(ruleText)"))
          }
          continue
        }
        if case .bool(true) = result { continue }
        if case .bool(false) = result {} else {
          errors.append(FieldError(.invalid, field: path, value: typeText,
                                   detail: "'no such overload': call arguments did not match a supported operator, function or macro signature for rule: \(ruleText)"))
          continue
        }
        var field = path
        if let fieldPath = rule["fieldPath"]?.stringValue, !fieldPath.isEmpty,
           let relative = CELRules.resolveFieldPath(fieldPath, in: schema) {
          field = isRoot ? relative : (relative.hasPrefix("[") ? path + relative : join(path, relative))
        }
        var detail = ruleMessageOrDefault(rule)
        if let messageSource = rule["messageExpression"]?.stringValue, !messageSource.isEmpty,
           let messageProgram = try? CELRules.program(messageSource, node: schema, isRoot: isRoot, optionalOldSelf: optionalOldSelf) {
          do {
            let (v, cost) = try messageProgram.evaluate(bindings, costLimit: min(CELCost.perCallLimit, budget))
            budget -= min(cost, budget)
            if case .string(let s) = v {
              let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
              if !trimmed.isEmpty && !trimmed.contains("\n") && trimmed.utf8.count <= 5 * 1024 { detail = trimmed }
            }
          } catch .costLimitExceeded {
            errors.append(FieldError(.invalid, field: field, value: typeText,
                                     detail: "no further validation rules will be run due to call cost exceeds limit for messageExpression: \"\(messageSource)\""))
            stopped = true
            return
          } catch {
            // upstream logs the failure and falls back to `message`
          }
        }
        // Ratcheting (CRDValidationRatcheting, on by default since 1.30): a value the update leaves
        // unchanged keeps passing a non-transition rule it already failed (validation.go `addErr`).
        if !program.usesOldSelf, let old, old == value { continue }
        switch rule["reason"]?.stringValue {
        case "FieldValueForbidden"?: errors.append(FieldError(.forbidden, field: field, detail: detail))
        case "FieldValueRequired"?: errors.append(FieldError(.required, field: field, detail: detail))
        case "FieldValueDuplicate"?: errors.append(FieldError(.duplicate, field: field, value: FieldError.printed(value)))
        default: errors.append(FieldError(.invalid, field: field, value: FieldError.printed(value), detail: detail))
        }
      }
    }

    private func ruleMessageOrDefault(_ rule: JSONValue) -> String {
      let message = (rule["message"]?.stringValue ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
      return message.isEmpty ? "failed rule: \(Run.ruleErrorString(rule))" : message
    }

    private static func ruleErrorString(_ rule: JSONValue) -> String {
      let message = (rule["message"]?.stringValue ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
      return message.isEmpty ? (rule["rule"]?.stringValue ?? "").trimmingCharacters(in: .whitespacesAndNewlines) : message
    }
  }
}
