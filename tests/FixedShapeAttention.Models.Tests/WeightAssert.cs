using Xunit;

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
            BertLayerWeights layer = weights.Layers[i];
            string[] matrices = model.WeightNames[i];
            float[] Named(string suffix) => model.Written[model.Name($"encoder.layer.{i}.{suffix}")];

            Assert.Equal(model.Written[matrices[0]], layer.QueryWeight);
            Assert.Equal(model.Written[matrices[1]], layer.KeyWeight);
            Assert.Equal(model.Written[matrices[2]], layer.ValueWeight);
            Assert.Equal(model.Written[matrices[3]], layer.AttentionOutputWeight);
            Assert.Equal(model.Written[matrices[4]], layer.IntermediateWeight);
            Assert.Equal(model.Written[matrices[5]], layer.OutputWeight);
            Assert.Equal(Named("attention.self.query.bias"), layer.QueryBias);
            Assert.Equal(Named("attention.self.key.bias"), layer.KeyBias);
            Assert.Equal(Named("attention.self.value.bias"), layer.ValueBias);
            Assert.Equal(Named("attention.output.dense.bias"), layer.AttentionOutputBias);
            Assert.Equal(Named("attention.output.LayerNorm.weight"), layer.AttentionLayerNormGamma);
            Assert.Equal(Named("attention.output.LayerNorm.bias"), layer.AttentionLayerNormBeta);
            Assert.Equal(Named("intermediate.dense.bias"), layer.IntermediateBias);
            Assert.Equal(Named("output.dense.bias"), layer.OutputBias);
            Assert.Equal(Named("output.LayerNorm.weight"), layer.OutputLayerNormGamma);
            Assert.Equal(Named("output.LayerNorm.bias"), layer.OutputLayerNormBeta);
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
        foreach (BertLayerWeights layer in weights.Layers)
        {
            Assert.All([layer.QueryWeight, layer.KeyWeight, layer.ValueWeight, layer.AttentionOutputWeight], w => Assert.Equal(h * h, w.Length));
            Assert.All([layer.QueryBias, layer.KeyBias, layer.ValueBias, layer.AttentionOutputBias, layer.OutputBias,
                        layer.AttentionLayerNormGamma, layer.AttentionLayerNormBeta, layer.OutputLayerNormGamma, layer.OutputLayerNormBeta],
                       b => Assert.Equal(h, b.Length));
            Assert.Equal(h * f, layer.IntermediateWeight.Length);
            Assert.Equal(f, layer.IntermediateBias.Length);
            Assert.Equal(f * h, layer.OutputWeight.Length);
        }
    }
}
