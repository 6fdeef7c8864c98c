using System.IO;
using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention.Models.Onnx;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// Infers the number of attention heads from the graph, since no tensor shape carries it: each of the query, key
/// and value projections is reshaped to <c>[batch, sequence, heads, headDim]</c> before the heads are transposed
/// apart. The target shape is either a constant or, in PyTorch exports, a <c>Concat</c> of the dynamic batch and
/// sequence sizes with constants for the last two dimensions (all-MiniLM-L6-v2: <c>[…, 12, 32]</c>). The rule: the
/// last two entries of that shape are <c>heads, headDim</c>, one of them may be -1 (inferred), and their product must
/// be the hidden size.
/// </summary>
internal static class AttentionHeads
{
    public static int Infer(OnnxGraph graph, string projected, int hiddenSize, string where)
    {
        NodeProto reshape = graph.Consumers(projected).FirstOrDefault(n => n.OpType == "Reshape" && OnnxGraph.IsDefaultDomain(n) && n.Input.Count >= 2 && n.Input[0] == projected)
            ?? throw new InvalidDataException($"{where}: no Reshape splits '{projected}' into heads, so the number of heads cannot be inferred.");

        List<long> trailing = TrailingConstants(graph, reshape.Input[1], where);
        if (trailing.Count < 2)
        {
            throw new InvalidDataException(
                $"{where}: the shape '{reshape.Input[1]}' that {OnnxGraph.Describe(reshape)} uses does not end in two constants [heads, headDim].");
        }

        long heads = trailing[^2], headDim = trailing[^1];
        if (heads == -1 && headDim > 0 && hiddenSize % headDim == 0)
            heads = hiddenSize / headDim;
        if (headDim == -1 && heads > 0 && hiddenSize % heads == 0)
            headDim = hiddenSize / heads;
        if (heads <= 0 || headDim <= 0 || heads * headDim != hiddenSize)
        {
            throw new InvalidDataException(
                $"{where}: {OnnxGraph.Describe(reshape)} splits '{projected}' into [{trailing[^2]}, {trailing[^1]}], " +
                $"which is not [heads, headDim] with heads × headDim = hidden size {hiddenSize}.");
        }

        return (int)heads;
    }

    /// <summary>
    /// The constant entries at the end of a shape value: all of a constant tensor, or the constant operands that end
    /// a Concat (stopping at the first computed one).
    /// </summary>
    private static List<long> TrailingConstants(OnnxGraph graph, string shape, string where)
    {
        TensorProto? constant = graph.Constant(shape);
        if (constant is not null)
            return [.. TensorReader.ReadInt64s(constant, where + " Reshape shape")];

        NodeProto? concat = graph.Producer(shape);
        var values = new List<long>();
        if (concat is null || concat.OpType != "Concat" || !OnnxGraph.IsDefaultDomain(concat))
            return values;
        for (int i = concat.Input.Count - 1; i >= 0 && values.Count < 2; i--)
        {
            TensorProto? part = graph.Constant(concat.Input[i]);
            if (part is null)
                break;
            values.InsertRange(0, TensorReader.ReadInt64s(part, where + " Reshape shape"));
        }

        return values;
    }
}
