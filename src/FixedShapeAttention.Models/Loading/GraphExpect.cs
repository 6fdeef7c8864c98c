using System.IO;
using FixedShapeAttention.Models.Onnx;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// The steps the graph patterns are made of (which node computes a value, the other operand of a binary node), each
/// throwing an <see cref="InvalidDataException"/> that names the pattern, the value and what was found instead.
/// </summary>
internal static class GraphExpect
{
    /// <summary>The initializer called <paramref name="name"/>, which must exist.</summary>
    public static TensorProto Initializer(OnnxGraph graph, string name, string where, string what) =>
        graph.Initializer(name) ?? throw new InvalidDataException($"{where}: missing initializer '{name}' ({what}).");

    /// <summary>The node computing <paramref name="value"/>, which must be a default-domain <paramref name="op"/>.</summary>
    /// <param name="where">The pattern being matched, e.g. "layer 0 attention LayerNorm".</param>
    /// <param name="what">What the value is in that pattern, e.g. "the normalised input".</param>
    public static NodeProto Producer(OnnxGraph graph, string value, string op, string where, string what)
    {
        NodeProto? node = graph.Producer(value);
        if (node is null || node.OpType != op || !OnnxGraph.IsDefaultDomain(node))
            throw new InvalidDataException($"{where}: expected {what} '{value}' to be computed by {op}, but it is {Origin(graph, value)}.");
        return node;
    }

    /// <summary>Where a value comes from, for messages: the node computing it, an initializer, or nothing.</summary>
    public static string Origin(OnnxGraph graph, string value)
    {
        NodeProto? node = graph.Producer(value);
        if (node is not null)
            return "computed by " + OnnxGraph.Describe(node);
        return graph.Initializer(value) is not null ? "an initializer" : "not computed by any node (a graph input or a missing value)";
    }

    /// <summary>The operand of a two-input node that is not <paramref name="known"/>.</summary>
    public static string OtherInput(NodeProto node, string known, string where)
    {
        if (node.Input.Count == 2)
        {
            if (node.Input[0] == known)
                return node.Input[1];
            if (node.Input[1] == known)
                return node.Input[0];
        }

        throw new InvalidDataException($"{where}: expected {OnnxGraph.Describe(node)} to have two inputs, one of them '{known}'.");
    }

    /// <summary>Whether a binary node combines exactly the two values given, in either order.</summary>
    public static bool Combines(NodeProto node, string a, string b) =>
        node.Input.Count == 2 && ((node.Input[0] == a && node.Input[1] == b) || (node.Input[0] == b && node.Input[1] == a));
}
