using System.IO;
using System.Collections.Generic;
using System.Linq;

namespace FixedShapeAttention.Models.Onnx;

/// <summary>
/// Lookups over one parsed <see cref="GraphProto"/>: initializers by name, the node producing each value, the nodes
/// consuming it, and constant values (initializers or <c>Constant</c> nodes). Built once, after checking that names are
/// unique, so that every pattern match after it is a dictionary lookup and cannot loop over a malformed graph.
/// </summary>
internal sealed class OnnxGraph
{
    private static readonly IReadOnlyList<NodeProto> NoNodes = [];

    private readonly Dictionary<string, TensorProto> _initializers = new(System.StringComparer.Ordinal);
    private readonly Dictionary<string, NodeProto> _producers = new(System.StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(System.StringComparer.Ordinal);

    public OnnxGraph(GraphProto graph)
    {
        foreach (TensorProto tensor in graph.Initializer)
        {
            if (!tensor.HasName || tensor.Name.Length == 0)
                throw new InvalidDataException($"graph initializer #{_initializers.Count} has no name.");
            if (!_initializers.TryAdd(tensor.Name, tensor))
                throw new InvalidDataException($"initializer '{tensor.Name}' is defined twice.");
        }

        foreach (NodeProto node in graph.Node)
        {
            foreach (string output in node.Output)
            {
                if (output.Length == 0)
                    continue;   // an omitted optional output
                // A value with two definitions makes "the node that computes X" meaningless: ONNX graphs are SSA.
                if (_initializers.ContainsKey(output) || !_producers.TryAdd(output, node))
                    throw new InvalidDataException($"value '{output}' is produced twice (again by {Describe(node)}).");
            }

            foreach (string input in node.Input)
            {
                if (input.Length == 0)
                    continue;   // an omitted optional input
                if (!_consumers.TryGetValue(input, out List<NodeProto>? users))
                    _consumers.Add(input, users = []);
                users.Add(node);
            }
        }
    }

    /// <summary>All initializer names, in no particular order.</summary>
    public IEnumerable<string> InitializerNames => _initializers.Keys;

    public TensorProto? Initializer(string name) => _initializers.GetValueOrDefault(name);

    public NodeProto? Producer(string value) => _producers.GetValueOrDefault(value);

    public IReadOnlyList<NodeProto> Consumers(string value) =>
        _consumers.TryGetValue(value, out List<NodeProto>? users) ? users : NoNodes;

    /// <summary>
    /// The tensor behind a value known when the graph is built: an initializer, or the <c>value</c> attribute of a
    /// <c>Constant</c> node; null for anything computed at run time.
    /// </summary>
    public TensorProto? Constant(string value)
    {
        if (_initializers.TryGetValue(value, out TensorProto? tensor))
            return tensor;
        if (_producers.TryGetValue(value, out NodeProto? node) && node.OpType == "Constant" && IsDefaultDomain(node))
        {
            AttributeProto? attribute = node.Attribute.FirstOrDefault(a => a.Name == "value");
            if (attribute is { T: not null })
                return attribute.T;
            AttributeProto? scalar = node.Attribute.FirstOrDefault(a => a.Name == "value_float");
            if (scalar is not null)
                return new TensorProto { Name = value, DataType = (int)TensorProto.Types.DataType.Float, FloatData = { scalar.F } };
        }

        return null;
    }

    public static bool IsDefaultDomain(NodeProto node) => !node.HasDomain || node.Domain is "" or "ai.onnx";

    /// <summary>How a node is named in messages: its operator, its name if it has one, and its first output.</summary>
    public static string Describe(NodeProto node)
    {
        string name = node.HasName && node.Name.Length > 0 ? $" '{node.Name}'" : "";
        string output = node.Output.Count > 0 ? $" (output '{node.Output[0]}')" : "";
        return $"{node.OpType} node{name}{output}";
    }
}
