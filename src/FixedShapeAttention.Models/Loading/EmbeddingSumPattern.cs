using System.IO;
using System.Collections.Generic;
using FixedShapeAttention.Models.Onnx;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// Checks that the embedding LayerNorm normalises the sum of the three embedding lookups: a tree of Add nodes whose
/// leaves are <c>Gather</c>s from the word, position and token-type tables. This is what makes the three tables
/// found by name the embeddings of this graph, and <c>Gather</c>ing rows is what the consumer of the weights does.
/// </summary>
internal static class EmbeddingSumPattern
{
    // Three lookups summed need two Adds and three Gathers; the bound stops a walk through a miswired graph.
    private const int MaxNodes = 8;

    public static void Check(OnnxGraph graph, string sum, IReadOnlyList<string> tables, string where)
    {
        var gathered = new HashSet<string>(System.StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(sum);
        int visited = 0;
        while (pending.Count > 0)
        {
            string value = pending.Pop();
            NodeProto? node = graph.Producer(value);
            if (++visited > MaxNodes)
                throw new InvalidDataException($"{where}: more than {MaxNodes} nodes compute the embedding sum '{sum}'.");
            if (node is { OpType: "Add", Input.Count: 2 } && OnnxGraph.IsDefaultDomain(node))
            {
                pending.Push(node.Input[0]);
                pending.Push(node.Input[1]);
            }
            else if (node is { OpType: "Gather", Input.Count: 2 } && OnnxGraph.IsDefaultDomain(node))
            {
                gathered.Add(node.Input[0]);
            }
            else
            {
                throw new InvalidDataException(
                    $"{where}: expected '{sum}' to be a sum of embedding lookups (Add of Gathers), but '{value}' is {GraphExpect.Origin(graph, value)}.");
            }
        }

        foreach (string table in tables)
        {
            if (!gathered.Contains(table))
                throw new InvalidDataException($"{where}: the embedding sum '{sum}' does not look up the table '{table}'.");
        }
    }
}
