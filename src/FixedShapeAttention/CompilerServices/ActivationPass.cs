using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// Applies an activation in place over a block of values, as a pass of its own after the product that wrote them.
/// Inlined into every register tile's epilogue instead, a long activation (GELU, SiLU: ~70 instructions each) made
/// the JIT keep the tile's accumulators on the stack throughout the k loop, costing the feed-forward network 18 %;
/// as a separate pass over a block the chunk has just written (still in L1/L2) it costs only its own arithmetic.
/// The values are the same floats either way (act(acc + bias), with acc + bias rounded once), so results do not change.
/// Every value is computed at the pass's width, the last few too (through one vector on the stack), so which formula
/// computes an element never depends on where a block or a chunk's column range ends: the runtime-shape kernels cut
/// their blocks differently and still compute the same bits.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ActivationPass
{
    // Span overloads only: a span's length is the caller's own, so no argument from safe code reaches memory outside
    // it. (Overloads taking a ref and a count had to check the range against a thread-static record of the running
    // kernel call; generated code now passes spans of the chunk's sizes instead.)

    /// <summary><c>values[i] = act(values[i])</c> over the span, 16 lanes at a time.</summary>
    public static void Apply512<TActivation>(Span<float> values)
        where TActivation : IActivationOperator =>
        Run<Vector512<float>, Vector512Ops, TActivation>(values);

    /// <summary>As <see cref="Apply512{TActivation}(Span{float})"/>, 8 lanes at a time.</summary>
    public static void Apply256<TActivation>(Span<float> values)
        where TActivation : IActivationOperator =>
        Run<Vector256<float>, Vector256Ops, TActivation>(values);

    /// <summary>As <see cref="Apply512{TActivation}(Span{float})"/>, 4 lanes at a time.</summary>
    public static void Apply128<TActivation>(Span<float> values)
        where TActivation : IActivationOperator =>
        Run<Vector128<float>, Vector128Ops, TActivation>(values);

    /// <summary>As <see cref="Apply512{TActivation}(Span{float})"/>, one value at a time.</summary>
    public static void ApplyScalar<TActivation>(Span<float> values)
        where TActivation : IActivationOperator =>
        Run<float, ScalarOps, TActivation>(values);

    /// <summary><c>destination[i] = act(source[i])</c>, 16 lanes at a time: the in-place pass's values without first
    /// copying the source (the training forward keeps the pre-activation for the backward pass). Internal: generated
    /// code applies in place.</summary>
    internal static void Apply512<TActivation>(ReadOnlySpan<float> source, Span<float> destination)
        where TActivation : IActivationOperator =>
        Run<Vector512<float>, Vector512Ops, TActivation>(source, destination);

    /// <summary>As <see cref="Apply512{TActivation}(ReadOnlySpan{float}, Span{float})"/>, 8 lanes at a time.</summary>
    internal static void Apply256<TActivation>(ReadOnlySpan<float> source, Span<float> destination)
        where TActivation : IActivationOperator =>
        Run<Vector256<float>, Vector256Ops, TActivation>(source, destination);

    private static void Run<TVec, TOps, TActivation>(Span<float> values)
        where TVec : struct
        where TOps : struct, IVectorOps<TVec>
        where TActivation : IActivationOperator =>
        Run<TVec, TOps, TActivation>(values, values);

    /// <summary>The pass at one width (scalar is width 1): whole vectors, then the last few values through one vector staged
    /// on the stack. <paramref name="destination"/> is <paramref name="source"/> itself or a span of the same length that
    /// does not overlap it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe void Run<TVec, TOps, TActivation>(ReadOnlySpan<float> source, Span<float> destination)
        where TVec : struct
        where TOps : struct, IVectorOps<TVec>
        where TActivation : IActivationOperator
    {
        if (destination.Length != source.Length)
            throw new ArgumentException($"destination: expected {source.Length} (the source's length), got {destination.Length}.", nameof(destination));
        int count = source.Length, lanes = TOps.Count, i = 0;
        fixed (float* from = source, to = destination)
        {
            for (; i <= count - lanes; i += lanes)
            {
                TOps.Store(TOps.Activate<TActivation>(TOps.Load(from + i)), to + i);
            }
        }

        if (i < count)
        {
            float* staged = stackalloc float[lanes];
            Span<float> lanesSpan = new(staged, lanes);
            source[i..].CopyTo(lanesSpan);
            lanesSpan[(count - i)..].Clear();
            TOps.Store(TOps.Activate<TActivation>(TOps.Load(staged)), staged);
            lanesSpan[..(count - i)].CopyTo(destination[i..]);
        }
    }
}
