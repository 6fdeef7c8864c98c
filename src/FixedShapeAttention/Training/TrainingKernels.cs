using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.Training;

/// <summary>
/// The element-wise and row-wise pieces of a training step, forward and backward: the activations and their
/// derivatives, bias sums, residual adds, and LayerNorm row by row (<see cref="TrainingLayerNorm"/> runs it in
/// parallel). Their cost is linear in the activations (a few per cent of a step against the products).
/// </summary>
internal static class TrainingKernels
{
    /// <summary>y = (x − μ)·σ⁻¹·γ + β per row of γ.Length, keeping μ and σ⁻¹, row by row on this thread (the decoder's
    /// calls); <see cref="TrainingLayerNorm"/> runs the same rows in parallel to the same bits. y may be x.</summary>
    public static void LayerNormForward(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon,
        Span<float> y, Span<float> mean, Span<float> inverseDeviation)
    {
        int n = gamma.Length;
        for (int row = 0; row < mean.Length; row++)
            TrainingLayerNorm.Row(x.Slice(row * n, n), gamma, beta, epsilon, y.Slice(row * n, n), out mean[row], out inverseDeviation[row]);
    }

    /// <summary>y[r, j] += b[j].</summary>
    public static void AddBias(Span<float> y, ReadOnlySpan<float> bias)
    {
        for (int offset = 0; offset < y.Length; offset += bias.Length)
            Add(y.Slice(offset, bias.Length), bias);
    }

    /// <summary>db[j] += Σ_r dy[r, j], the rows summed in float in order first, so that a batch and its micro-batches
    /// of whole sequences give the same bits when called once per sequence. Vectors add the same terms in the same
    /// order per element as the scalar loop, so the width does not change the bits.</summary>
    public static void AccumulateBiasGradient(ReadOnlySpan<float> dy, Span<float> dBias) =>
        ColumnSums.AddTo(dy, dBias.Length, dy.Length / dBias.Length, dBias);

    /// <summary>target[i] += addend[i], element by element (each sum rounded once, at any width).</summary>
    public static void Add(Span<float> target, ReadOnlySpan<float> addend)
    {
        ref float t0 = ref MemoryMarshal.GetReference(target);
        ref float a0 = ref MemoryMarshal.GetReference(addend);
        int i = 0, n = target.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
                (Vector512.LoadUnsafe(ref t0, (nuint)i) + Vector512.LoadUnsafe(ref a0, (nuint)i)).StoreUnsafe(ref t0, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
                (Vector256.LoadUnsafe(ref t0, (nuint)i) + Vector256.LoadUnsafe(ref a0, (nuint)i)).StoreUnsafe(ref t0, (nuint)i);
        }

        for (; i < n; i++)
            Unsafe.Add(ref t0, i) += Unsafe.Add(ref a0, i);
    }

    /// <summary>g = act(h), by the inference kernels' activation pass at the widest width (every element by the
    /// vector formula, the tail through a staged vector), so the forward pass of training computes the same bits.</summary>
    public static void Activate(Activation activation, ReadOnlySpan<float> h, Span<float> g)
    {
        switch (activation)
        {
            case Activation.Relu: Apply<ReluOperator>(h, g); break;
            case Activation.Gelu: Apply<GeluOperator>(h, g); break;
            case Activation.GeluTanh: Apply<GeluTanhOperator>(h, g); break;
            default: Apply<SiluOperator>(h, g); break;
        }
    }

    /// <summary>g = act(h) in one pass: no copy of h into g first (h and g are the same span or do not overlap).</summary>
    private static void Apply<TActivation>(ReadOnlySpan<float> h, Span<float> g)
        where TActivation : IActivationOperator
    {
        if (Vector512.IsHardwareAccelerated)
            ActivationPass.Apply512<TActivation>(h, g);
        else if (Vector256.IsHardwareAccelerated)
            ActivationPass.Apply256<TActivation>(h, g);
        else
        {
            for (int i = 0; i < h.Length; i++)
                g[i] = TActivation.Invoke(h[i]);
        }
    }

    /// <summary>As <see cref="Activate(Activation, ReadOnlySpan{float}, Span{float})"/>, in chunks of
    /// <paramref name="chunkLength"/> elements on up to <paramref name="maxDegreeOfParallelism"/> threads. Every element
    /// goes through the same vector formula wherever a chunk ends, so the bits do not depend on the threads.</summary>
    public static unsafe void Activate(Activation activation, ReadOnlySpan<float> h, Span<float> g, int chunkLength, int maxDegreeOfParallelism)
    {
        fixed (float* ph = h, pg = g)
        {
            var kernel = new ActivationKernel(activation, ph, pg, h.Length, chunkLength, backward: false);
            ParallelRunner.Run(kernel, (h.Length + chunkLength - 1) / chunkLength, 20L * h.Length, maxDegreeOfParallelism, default, default, default, default, default, default);
        }
    }

    /// <summary>As <see cref="ActivationBackward(Activation, ReadOnlySpan{float}, Span{float})"/>, in parallel chunks.</summary>
    public static unsafe void ActivationBackward(Activation activation, ReadOnlySpan<float> h, Span<float> dg, int chunkLength, int maxDegreeOfParallelism)
    {
        fixed (float* ph = h, pdg = dg)
        {
            var kernel = new ActivationKernel(activation, ph, pdg, h.Length, chunkLength, backward: true);
            ParallelRunner.Run(kernel, (h.Length + chunkLength - 1) / chunkLength, 30L * h.Length, maxDegreeOfParallelism, default, default, default, default, default, default);
        }
    }

    private readonly unsafe struct ActivationKernel(Activation activation, float* h, float* target, int length, int chunkLength, bool backward) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int start = chunk * chunkLength, count = Math.Min(chunkLength, length - start);
            var hChunk = new ReadOnlySpan<float>(h + start, count);
            var targetChunk = new Span<float>(target + start, count);
            if (backward)
                ActivationBackward(activation, hChunk, targetChunk);
            else
                Activate(activation, hChunk, targetChunk);
        }
    }

    /// <summary>dh = dg · act′(h), in place over dg.</summary>
    public static void ActivationBackward(Activation activation, ReadOnlySpan<float> h, Span<float> dg) =>
        ActivationGradients.MultiplyInPlace(activation, h, dg);
}
