using System.IO;
using FixedShapeAttention.Models.Onnx;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// A dense layer as Hugging Face exports write it: <c>Add(MatMul(x, W), bias)</c>, with the bias an initializer
/// known by name and <c>W</c> an initializer whose name is often anonymous. The weight is found from the bias: the
/// only node using the bias is an Add, whose other operand is computed by a MatMul whose second operand is the weight.
/// </summary>
internal static class LinearPattern
{
    /// <summary>The matched layer: its input value, weight and bias initializers, and its output value.</summary>
    public sealed record Match(string Input, string Weight, string Bias, string Output);

    public static Match Find(OnnxGraph graph, string bias, string where)
    {
        GraphExpect.Initializer(graph, bias, where, "bias");
        var users = graph.Consumers(bias);
        if (users.Count == 0)
            throw new InvalidDataException($"{where}: no node uses the bias '{bias}'; expected Add(MatMul(x, W), '{bias}').");
        if (users.Count > 1)
            throw new InvalidDataException($"{where}: the bias '{bias}' is used by {users.Count} nodes; expected only Add(MatMul(x, W), '{bias}').");

        NodeProto add = users[0];
        if (add.OpType != "Add" || !OnnxGraph.IsDefaultDomain(add) || add.Output.Count != 1)
            throw new InvalidDataException($"{where}: the bias '{bias}' is used by {OnnxGraph.Describe(add)}; expected Add(MatMul(x, W), '{bias}').");

        string product = GraphExpect.OtherInput(add, bias, where);
        NodeProto matMul = GraphExpect.Producer(graph, product, "MatMul", where, "the operand added to the bias");
        if (matMul.Input.Count != 2)
            throw new InvalidDataException($"{where}: {OnnxGraph.Describe(matMul)} has {matMul.Input.Count} inputs, expected 2.");

        string weight = matMul.Input[1];
        if (graph.Initializer(weight) is null)
        {
            throw new InvalidDataException(
                $"{where}: {OnnxGraph.Describe(matMul)} multiplies by '{weight}', which is {GraphExpect.Origin(graph, weight)}; " +
                "expected the weight to be an initializer.");
        }

        return new Match(matMul.Input[0], weight, bias, add.Output[0]);
    }
}
