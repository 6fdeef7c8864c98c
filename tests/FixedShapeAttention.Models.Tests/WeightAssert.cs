using Xunit;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models.Tests;

/// <summary>Compares loaded weights with what <see cref="TinyBertModel"/> wrote, tensor by tensor.</summary>
internal static class WeightAssert
{
    public static void MatchesWritten(TinyBertModel model, BertWeights weights)
    {
        Assert.Equal(model.Written[model.Name("embeddings.word_embeddings.weight")], weights.WordEmbeddings);
        Assert.Equal(model.Written[model.Name("embeddings.position_embeddings.weight")], weights.PositionEmbeddings);
        Assert.Equal(model.Written[model.Name("embeddings.token_type_embeddings.weight")], weights.TokenTypeEmbeddings);
        Assert.Equal(model.Written[model.Name("embeddings.LayerNorm.weight")], weights.EmbeddingLayerNormGamma);
        Assert.Equal(model.Written[model.Name("embeddings.LayerNorm.bias")], weights.EmbeddingLayerNormBeta);

        Assert.Equal(model.WeightNames.Count, weights.Layers.Count);
        for (int i = 0; i < weights.Layers.Count; i++)
        {
            EncoderLayerParameters layer = weights.Layers[i];
            string[] matrices = model.WeightNames[i];
            float[] Named(string suffix) => model.Written[model.Name($"encoder.layer.{i}.{suffix}")];

            Assert.Equal(model.Written[matrices[0]], layer.QueryWeight);
            Assert.Equal(model.Written[matrices[1]], layer.KeyWeight);
            Assert.Equal(model.Written[matrices[2]], layer.ValueWeight);
            Assert.Equal(model.Written[matrices[3]], layer.OutputWeight);
            Assert.Equal(model.Written[matrices[4]], layer.FeedForwardWeight1);
            Assert.Equal(model.Written[matrices[5]], layer.FeedForwardWeight2);
            Assert.Equal(Named("attention.self.query.bias"), layer.QueryBias);
            Assert.Equal(Named("attention.self.key.bias"), layer.KeyBias);
            Assert.Equal(Named("attention.self.value.bias"), layer.ValueBias);
            Assert.Equal(Named("attention.output.dense.bias"), layer.OutputBias);
            Assert.Equal(Named("attention.output.LayerNorm.weight"), layer.AttentionNormGamma);
            Assert.Equal(Named("attention.output.LayerNorm.bias"), layer.AttentionNormBeta);
            Assert.Equal(Named("intermediate.dense.bias"), layer.FeedForwardBias1);
            Assert.Equal(Named("output.dense.bias"), layer.FeedForwardBias2);
            Assert.Equal(Named("output.LayerNorm.weight"), layer.FeedForwardNormGamma);
            Assert.Equal(Named("output.LayerNorm.bias"), layer.FeedForwardNormBeta);
        }
    }

    /// <summary>Checks every array length against the config, as any successfully loaded model must satisfy.</summary>
    public static void LengthsMatchConfig(BertWeights weights)
    {
        BertConfig c = weights.Config;
        int h = c.HiddenSize, f = c.IntermediateSize;
        Assert.Equal(c.VocabSize * h, weights.WordEmbeddings.Length);
        Assert.Equal(c.MaxPositions * h, weights.PositionEmbeddings.Length);
        Assert.Equal(c.TypeVocabSize * h, weights.TokenTypeEmbeddings.Length);
        Assert.Equal(h, weights.EmbeddingLayerNormGamma.Length);
        Assert.Equal(h, weights.EmbeddingLayerNormBeta.Length);
        Assert.Equal(c.Layers, weights.Layers.Count);
        Assert.Equal(0, h % c.Heads);
        foreach (EncoderLayerParameters layer in weights.Layers)
        {
            Assert.All([layer.QueryWeight, layer.KeyWeight, layer.ValueWeight, layer.OutputWeight], w => Assert.Equal(h * h, w.Length));
            Assert.All([layer.QueryBias, layer.KeyBias, layer.ValueBias, layer.OutputBias, layer.FeedForwardBias2,
                        layer.AttentionNormGamma, layer.AttentionNormBeta, layer.FeedForwardNormGamma, layer.FeedForwardNormBeta],
                       b => Assert.Equal(h, b.Length));
            Assert.Equal(h * f, layer.FeedForwardWeight1.Length);
            Assert.Equal(f, layer.FeedForwardBias1.Length);
            Assert.Equal(f * h, layer.FeedForwardWeight2.Length);
        }
    }
}
