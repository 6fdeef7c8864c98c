using System.IO;
using FixedShapeAttention.Models.Onnx;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// Maps one post-LayerNorm BERT encoder layer from the graph to <see cref="EncoderLayerParameters"/>, checking how its
/// parts are wired, not only that tensors with the right names exist:
/// <code>
/// q, k, v = x·Wq + bq, x·Wk + bk, x·Wv + bv           (all three read the layer input x; reshaped into heads)
/// a       = LayerNorm(attention(q, k, v)·Wo + bo + x)
/// y       = LayerNorm(GELU(a·W1 + b1)·W2 + b2 + a)     (erf GELU)
/// </code>
/// </summary>
internal static class EncoderLayerMapper
{
    /// <summary>The layer's weights, the value the next layer reads, and the sizes inferred from this layer.</summary>
    public sealed record Result(EncoderLayerParameters Weights, string Output, int Heads, int IntermediateSize);

    public static Result Map(OnnxGraph graph, InitializerNames names, int layer, string input, int hidden, float epsilon)
    {
        string where = $"layer {layer}";
        LinearPattern.Match query = FindLinear(graph, names, layer, "attention.self.query.bias", "query projection", input);
        LinearPattern.Match key = FindLinear(graph, names, layer, "attention.self.key.bias", "key projection", input);
        LinearPattern.Match value = FindLinear(graph, names, layer, "attention.self.value.bias", "value projection", input);

        int heads = AttentionHeads.Infer(graph, query.Output, hidden, $"{where} query heads");
        foreach ((LinearPattern.Match projection, string name) in new[] { (key, "key"), (value, "value") })
        {
            int other = AttentionHeads.Infer(graph, projection.Output, hidden, $"{where} {name} heads");
            if (other != heads)
                throw new InvalidDataException($"{where}: the {name} projection is split into {other} heads, the query projection into {heads}.");
        }

        LinearPattern.Match attentionOutput = LinearPattern.Find(graph, names.Layer(layer, "attention.output.dense.bias"), $"{where} attention output projection");
        LayerNormPattern.Match attentionNorm = FindLayerNorm(graph, names, layer, "attention.output.LayerNorm", "attention LayerNorm", epsilon);
        RequireResidual(graph, attentionNorm.Input, attentionOutput.Output, input, $"{where} attention LayerNorm");

        LinearPattern.Match intermediate = FindLinear(graph, names, layer, "intermediate.dense.bias", "intermediate projection", attentionNorm.Output);
        LinearPattern.Match output = LinearPattern.Find(graph, names.Layer(layer, "output.dense.bias"), $"{where} output projection");
        GeluPattern.Check(graph, intermediate.Output, output.Input, $"{where} feed-forward activation");
        LayerNormPattern.Match outputNorm = FindLayerNorm(graph, names, layer, "output.LayerNorm", "output LayerNorm", epsilon);
        RequireResidual(graph, outputNorm.Input, output.Output, attentionNorm.Output, $"{where} output LayerNorm");

        // The intermediate size is the one dimension not fixed by the embeddings: take it from the bias, then hold
        // both feed-forward matrices to it.
        TensorProto intermediateBias = graph.Initializer(intermediate.Bias)!;
        int ffn = TensorShapes.Dimension(intermediateBias, $"{where} intermediate bias", rank: 1, index: 0);

        // BERT's "attention.output.dense" is the runtime's OutputWeight/OutputBias; its "intermediate.dense" and
        // "output.dense" are the feed-forward network's first and second projections.
        var weights = new EncoderLayerParameters
        {
            QueryWeight = Read(graph, query.Weight, $"{where} query weight", hidden, hidden),
            QueryBias = Read(graph, query.Bias, $"{where} query bias", hidden),
            KeyWeight = Read(graph, key.Weight, $"{where} key weight", hidden, hidden),
            KeyBias = Read(graph, key.Bias, $"{where} key bias", hidden),
            ValueWeight = Read(graph, value.Weight, $"{where} value weight", hidden, hidden),
            ValueBias = Read(graph, value.Bias, $"{where} value bias", hidden),
            OutputWeight = Read(graph, attentionOutput.Weight, $"{where} attention output weight", hidden, hidden),
            OutputBias = Read(graph, attentionOutput.Bias, $"{where} attention output bias", hidden),
            AttentionNormGamma = Read(graph, names.Layer(layer, "attention.output.LayerNorm.weight"), $"{where} attention LayerNorm γ", hidden),
            AttentionNormBeta = Read(graph, names.Layer(layer, "attention.output.LayerNorm.bias"), $"{where} attention LayerNorm β", hidden),
            FeedForwardWeight1 = Read(graph, intermediate.Weight, $"{where} intermediate weight", hidden, ffn),
            FeedForwardBias1 = Read(graph, intermediate.Bias, $"{where} intermediate bias", ffn),
            FeedForwardWeight2 = Read(graph, output.Weight, $"{where} output weight", ffn, hidden),
            FeedForwardBias2 = Read(graph, output.Bias, $"{where} output bias", hidden),
            FeedForwardNormGamma = Read(graph, names.Layer(layer, "output.LayerNorm.weight"), $"{where} output LayerNorm γ", hidden),
            FeedForwardNormBeta = Read(graph, names.Layer(layer, "output.LayerNorm.bias"), $"{where} output LayerNorm β", hidden),
        };
        return new Result(weights, outputNorm.Output, heads, ffn);
    }

    private static LinearPattern.Match FindLinear(OnnxGraph graph, InitializerNames names, int layer, string biasSuffix, string what, string expectedInput)
    {
        string where = $"layer {layer} {what}";
        LinearPattern.Match match = LinearPattern.Find(graph, names.Layer(layer, biasSuffix), where);
        if (match.Input != expectedInput)
            throw new InvalidDataException($"{where}: reads '{match.Input}', expected '{expectedInput}' ({GraphExpect.Origin(graph, expectedInput)}).");
        return match;
    }

    private static LayerNormPattern.Match FindLayerNorm(OnnxGraph graph, InitializerNames names, int layer, string prefix, string what, float epsilon)
    {
        string where = $"layer {layer} {what}";
        LayerNormPattern.Match match = LayerNormPattern.Find(graph, names.Layer(layer, prefix + ".weight"), names.Layer(layer, prefix + ".bias"), where);
        // BertConfig has a single ε; a model mixing several would be loaded into a config that misstates some of them.
        if (match.Epsilon != epsilon)
            throw new InvalidDataException($"{where}: ε = {match.Epsilon:R} differs from the embedding LayerNorm's ε = {epsilon:R}.");
        return match;
    }

    /// <summary>Checks that a LayerNorm normalises <c>projection + residual</c>, the post-LN residual connection.</summary>
    private static void RequireResidual(OnnxGraph graph, string normalized, string projection, string residual, string where)
    {
        NodeProto add = GraphExpect.Producer(graph, normalized, "Add", where, "the normalised value");
        if (!GraphExpect.Combines(add, projection, residual))
        {
            throw new InvalidDataException(
                $"{where}: expected {OnnxGraph.Describe(add)} to add the projection '{projection}' and the residual '{residual}', " +
                $"but it adds [{string.Join(", ", add.Input)}].");
        }
    }

    private static float[] Read(OnnxGraph graph, string name, string role, params System.ReadOnlySpan<long> shape) =>
        TensorReader.ReadFloats(GraphExpect.Initializer(graph, name, role, "weights"), role, shape);
}
