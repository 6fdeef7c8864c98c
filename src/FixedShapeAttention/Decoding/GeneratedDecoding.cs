using System;

namespace FixedShapeAttention.Decoding;

/// <summary>A decoder's attention on the kernels generated for a declared causal shape (<see cref="LanguageModelDecoder.UseKernels{TKernels}"/>).</summary>
internal abstract class GeneratedDecoding(KeyValueCache cache)
{
    public KeyValueCache Cache { get; } = cache;

    public abstract void Prefill(int layer, int sequence, int position, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int dop);

    public abstract void DecodeStep(
        int layer, ReadOnlySpan<int> sequences, ReadOnlySpan<int> positions, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> output, int dop);
}

/// <inheritdoc cref="GeneratedDecoding"/>
internal sealed class GeneratedDecoding<TKernels>(KeyValueCache cache) : GeneratedDecoding(cache)
    where TKernels : IDecodingKernels
{
    public override void Prefill(int layer, int sequence, int position, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int dop) =>
        TKernels.Prefill(Cache, layer, sequence, position, q, k, v, output, dop);

    public override void DecodeStep(
        int layer, ReadOnlySpan<int> sequences, ReadOnlySpan<int> positions, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> output, int dop) =>
        TKernels.DecodeStep(Cache, layer, sequences, positions, q, k, v, output, dop);
}
