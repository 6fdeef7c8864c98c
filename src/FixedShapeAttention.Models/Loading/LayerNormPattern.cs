using System.IO;
using System.Linq;
using FixedShapeAttention.Models.Onnx;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// A LayerNorm over the last axis, found from its γ and β initializers, in either form an exporter writes:
/// <list type="bullet">
/// <item>fused, one <c>LayerNormalization(x, γ, β)</c> node (opset 17+): ε is its <c>epsilon</c> attribute (default 1e-5);</item>
/// <item>decomposed (older opsets, as all-MiniLM-L6-v2 is): <c>d = x − ReduceMean(x)</c>,
/// <c>Add(Mul(Div(d, Sqrt(Add(ReduceMean(Pow(d, 2)), ε))), γ), β)</c>: ε is the constant of the inner Add.</item>
/// </list>
/// Both forms are checked node by node, so that ε really is the value added to the variance of this LayerNorm.
/// </summary>
internal static class LayerNormPattern
{
    /// <summary>The matched LayerNorm: the value it normalises, its output value and its ε.</summary>
    public sealed record Match(string Input, string Output, float Epsilon);

    public static Match Find(OnnxGraph graph, string gamma, string beta, string where)
    {
        GraphExpect.Initializer(graph, gamma, where, "γ (scale)");
        GraphExpect.Initializer(graph, beta, where, "β (shift)");
        NodeProto? fused = graph.Consumers(gamma).FirstOrDefault(n => n.OpType == "LayerNormalization" && OnnxGraph.IsDefaultDomain(n));
        return fused is not null ? FromFused(fused, gamma, beta, where) : FromDecomposed(graph, gamma, beta, where);
    }

    private static Match FromFused(NodeProto node, string gamma, string beta, string where)
    {
        if (node.Input.Count != 3 || node.Input[1] != gamma || node.Input[2] != beta || node.Output.Count < 1)
            throw new InvalidDataException($"{where}: expected {OnnxGraph.Describe(node)} to take (x, '{gamma}', '{beta}').");

        AttributeProto? axis = node.Attribute.FirstOrDefault(a => a.Name == "axis");
        if (axis is not null && axis.I != -1)
            throw new InvalidDataException($"{where}: {OnnxGraph.Describe(node)} normalises axis {axis.I}; only the last axis (-1) is supported.");

        // ONNX's default ε for LayerNormalization.
        float epsilon = node.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;
        return new Match(node.Input[0], node.Output[0], CheckEpsilon(epsilon, where));
    }

    private static Match FromDecomposed(OnnxGraph graph, string gamma, string beta, string where)
    {
        var users = graph.Consumers(beta);
        if (users.Count != 1 || users[0].OpType != "Add" || !OnnxGraph.IsDefaultDomain(users[0]) || users[0].Output.Count != 1)
        {
            throw new InvalidDataException(
                $"{where}: expected β '{beta}' to be used by exactly one Add (or a LayerNormalization node to use γ '{gamma}'), " +
                $"found {users.Count} users{(users.Count > 0 ? ": " + string.Join(", ", users.Select(OnnxGraph.Describe)) : "")}.");
        }

        NodeProto shift = users[0];
        string scaled = GraphExpect.OtherInput(shift, beta, where);
        NodeProto scale = GraphExpect.Producer(graph, scaled, "Mul", where, "the value β is added to");
        string normalized = GraphExpect.OtherInput(scale, gamma, where);

        NodeProto divide = GraphExpect.Producer(graph, normalized, "Div", where, "the value γ multiplies");
        if (divide.Input.Count != 2)
            throw new InvalidDataException($"{where}: {OnnxGraph.Describe(divide)} has {divide.Input.Count} inputs, expected 2.");
        string centered = divide.Input[0];
        NodeProto sqrt = GraphExpect.Producer(graph, divide.Input[1], "Sqrt", where, "the divisor");
        NodeProto addEpsilon = GraphExpect.Producer(graph, sqrt.Input.FirstOrDefault() ?? "", "Add", where, "the square root's operand");
        (string variance, float epsilon) = SplitConstant(graph, addEpsilon, where);

        NodeProto varianceMean = GraphExpect.Producer(graph, variance, "ReduceMean", where, "the variance");
        RequireLastAxis(graph, varianceMean, where);
        string squared = varianceMean.Input.FirstOrDefault() ?? "";
        NodeProto? square = graph.Producer(squared);
        if (square is null || !OnnxGraph.IsDefaultDomain(square) || !IsSquareOf(graph, square, centered))
        {
            throw new InvalidDataException(
                $"{where}: expected the squared deviation '{squared}' to be Pow('{centered}', 2) or Mul('{centered}', '{centered}'), " +
                $"but it is {GraphExpect.Origin(graph, squared)}.");
        }

        NodeProto subtract = GraphExpect.Producer(graph, centered, "Sub", where, "the deviation");
        if (subtract.Input.Count != 2)
            throw new InvalidDataException($"{where}: {OnnxGraph.Describe(subtract)} has {subtract.Input.Count} inputs, expected 2.");
        string input = subtract.Input[0];
        NodeProto mean = GraphExpect.Producer(graph, subtract.Input[1], "ReduceMean", where, "the mean subtracted");
        RequireLastAxis(graph, mean, where);
        if (mean.Input.Count == 0 || mean.Input[0] != input)
            throw new InvalidDataException($"{where}: expected {OnnxGraph.Describe(mean)} to average '{input}', the value the mean is subtracted from.");

        return new Match(input, shift.Output[0], CheckEpsilon(epsilon, where));
    }

    /// <summary>Splits <c>Add(v, ε)</c> (either order) into the computed operand and the constant ε.</summary>
    private static (string Value, float Epsilon) SplitConstant(OnnxGraph graph, NodeProto add, string where)
    {
        if (add.Input.Count == 2)
        {
            for (int i = 0; i < 2; i++)
            {
                TensorProto? constant = graph.Constant(add.Input[i]);
                if (constant is not null && TensorReader.IsScalarFloat(constant))
                    return (add.Input[1 - i], TensorReader.ReadScalarFloat(constant, where + " epsilon"));
            }
        }

        throw new InvalidDataException($"{where}: expected {OnnxGraph.Describe(add)} to add a constant float ε to the variance.");
    }

    private static bool IsSquareOf(OnnxGraph graph, NodeProto square, string value)
    {
        if (square.Input.Count != 2 || square.Input[0] != value)
            return false;
        if (square.OpType == "Mul")
            return square.Input[1] == value;
        if (square.OpType != "Pow")
            return false;
        TensorProto? exponent = graph.Constant(square.Input[1]);
        return exponent is not null && TensorReader.IsScalarFloat(exponent) && TensorReader.ReadScalarFloat(exponent, "exponent") == 2f;
    }

    /// <summary>Checks that a ReduceMean averages the last axis only and keeps it (axes = [-1], keepdims = 1).</summary>
    private static void RequireLastAxis(OnnxGraph graph, NodeProto reduceMean, string where)
    {
        // Before opset 18 the axes are an attribute; from 18 on, an optional second input.
        AttributeProto? attribute = reduceMean.Attribute.FirstOrDefault(a => a.Name == "axes");
        long[]? axes = attribute is not null ? [.. attribute.Ints] : null;
        if (axes is null && reduceMean.Input.Count > 1 && reduceMean.Input[1].Length > 0)
        {
            TensorProto constant = graph.Constant(reduceMean.Input[1])
                ?? throw new InvalidDataException($"{where}: the axes of {OnnxGraph.Describe(reduceMean)} are not a constant.");
            axes = TensorReader.ReadInt64s(constant, where + " ReduceMean axes");
        }

        if (axes is not [-1])
        {
            throw new InvalidDataException(
                $"{where}: {OnnxGraph.Describe(reduceMean)} averages axes [{(axes is null ? "all" : string.Join(", ", axes))}]; a LayerNorm averages the last axis, [-1].");
        }

        AttributeProto? keepDims = reduceMean.Attribute.FirstOrDefault(a => a.Name == "keepdims");
        if (keepDims is not null && keepDims.I != 1)
            throw new InvalidDataException($"{where}: {OnnxGraph.Describe(reduceMean)} drops the averaged axis (keepdims = {keepDims.I}).");
    }

    private static float CheckEpsilon(float epsilon, string where) =>
        float.IsFinite(epsilon) && epsilon >= 0
            ? epsilon
            : throw new InvalidDataException($"{where}: ε = {epsilon} is not a finite non-negative number.");
}
