namespace FixedShapeAttention.Models;

/// <summary>From the loader's names for a BERT layer's tensors to the runtime's.</summary>
internal static class EncoderLayerMapping
{
    public static EncoderLayerParameters ToEncoderLayerParameters(this BertLayerWeights layer) => new()
    {
        QueryWeight = layer.QueryWeight,
        QueryBias = layer.QueryBias,
        KeyWeight = layer.KeyWeight,
        KeyBias = layer.KeyBias,
        ValueWeight = layer.ValueWeight,
        ValueBias = layer.ValueBias,
        OutputWeight = layer.AttentionOutputWeight,
        OutputBias = layer.AttentionOutputBias,
        AttentionNormGamma = layer.AttentionLayerNormGamma,
        AttentionNormBeta = layer.AttentionLayerNormBeta,
        FeedForwardWeight1 = layer.IntermediateWeight,
        FeedForwardBias1 = layer.IntermediateBias,
        FeedForwardWeight2 = layer.OutputWeight,
        FeedForwardBias2 = layer.OutputBias,
        FeedForwardNormGamma = layer.OutputLayerNormGamma,
        FeedForwardNormBeta = layer.OutputLayerNormBeta,
    };
}
