using System;
using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Tests;

/// <summary>Random encoder layers for a test shape, packed and as raw parameters for the reference.</summary>
internal sealed record EncoderSetup(TransformerShape Shape, EncoderLayerParameters[] Parameters, EncoderLayerWeights[] Layers, ITransformerEncoder Encoder)
{
    public static EncoderSetup For(string shapeName, int layers, LayerNormPlacement placement, int seed) => shapeName switch
    {
        nameof(ThreeHeads) => Create<ThreeHeads>(layers, placement, seed),
        nameof(Odd) => Create<Odd>(layers, placement, seed),
        nameof(CausalGelu) => Create<CausalGelu>(layers, placement, seed),
        nameof(Medium) => Create<Medium>(layers, placement, seed),
        nameof(GeluTanhShape) => Create<GeluTanhShape>(layers, placement, seed),
        nameof(HeadDimOne) => Create<HeadDimOne>(layers, placement, seed),
        nameof(MiniLm) => Create<MiniLm>(layers, placement, seed),
        _ => throw new ArgumentOutOfRangeException(nameof(shapeName), shapeName, "no encoder setup for this shape"),
    };

    private static EncoderSetup Create<TShape>(int layers, LayerNormPlacement placement, int seed)
        where TShape : ITransformerKernels
    {
        var random = new Random(seed);
        EncoderLayerParameters[] parameters = Enumerable.Range(0, layers).Select(_ => RandomLayer(TShape.Shape, random)).ToArray();
        EncoderLayerWeights[] packed = parameters.Select(EncoderLayerWeights.Pack<TShape>).ToArray();
        return new EncoderSetup(TShape.Shape, parameters, packed, new TransformerEncoder<TShape>(packed, placement, layerNormEpsilon: 1e-5f));
    }

    /// <summary>Weights scaled by 1/√fan-in (activations stay near unit size), γ in [0.5, 1.5], small biases.</summary>
    public static EncoderLayerParameters RandomLayer(TransformerShape shape, Random random)
    {
        int e = shape.EmbeddingDim, f = shape.FfnDim;
        float[] Uniform(int length, double scale, double offset = 0) =>
            Enumerable.Range(0, length).Select(_ => (float)(offset + (random.NextDouble() * 2 - 1) * scale)).ToArray();
        double square = Math.Sqrt(3.0 / e);
        return new EncoderLayerParameters
        {
            QueryWeight = Uniform(e * e, square), QueryBias = Uniform(e, 0.1),
            KeyWeight = Uniform(e * e, square), KeyBias = Uniform(e, 0.1),
            ValueWeight = Uniform(e * e, square), ValueBias = Uniform(e, 0.1),
            OutputWeight = Uniform(e * e, square), OutputBias = Uniform(e, 0.1),
            AttentionNormGamma = Uniform(e, 0.5, 1), AttentionNormBeta = Uniform(e, 0.1),
            FeedForwardWeight1 = Uniform(e * f, square), FeedForwardBias1 = Uniform(f, 0.1),
            FeedForwardWeight2 = Uniform(f * e, Math.Sqrt(3.0 / f)), FeedForwardBias2 = Uniform(e, 0.1),
            FeedForwardNormGamma = Uniform(e, 0.5, 1), FeedForwardNormBeta = Uniform(e, 0.1),
        };
    }
}
