using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
        Run512<TActivation>(ref MemoryMarshal.GetReference(values), values.Length);

    /// <summary>As <see cref="Apply512{TActivation}(Span{float})"/>, 8 lanes at a time.</summary>
    public static void Apply256<TActivation>(Span<float> values)
        where TActivation : IActivationOperator =>
        Run256<TActivation>(ref MemoryMarshal.GetReference(values), values.Length);

    /// <summary>As <see cref="Apply512{TActivation}(Span{float})"/>, 4 lanes at a time.</summary>
    public static void Apply128<TActivation>(Span<float> values)
        where TActivation : IActivationOperator =>
        Run128<TActivation>(ref MemoryMarshal.GetReference(values), values.Length);

    /// <summary>As <see cref="Apply512{TActivation}(Span{float})"/>, one value at a time.</summary>
    public static void ApplyScalar<TActivation>(Span<float> values)
        where TActivation : IActivationOperator =>
        RunScalar<TActivation>(ref MemoryMarshal.GetReference(values), values.Length);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Run512<TActivation>(ref float values, int count)
        where TActivation : IActivationOperator
    {
        int i = 0;
        for (; i <= count - 16; i += 16)
        {
            Vector512.StoreUnsafe(TActivation.Invoke(Vector512.LoadUnsafe(ref values, (nuint)i)), ref values, (nuint)i);
        }

        if (i < count)
        {
            Span<float> lanes = stackalloc float[16];
            ref float first = ref Stage(ref Unsafe.Add(ref values, i), count - i, lanes);
            Vector512.StoreUnsafe(TActivation.Invoke(Vector512.LoadUnsafe(ref first)), ref first);
            lanes[..(count - i)].CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref values, i), count - i));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Run256<TActivation>(ref float values, int count)
        where TActivation : IActivationOperator
    {
        int i = 0;
        for (; i <= count - 8; i += 8)
        {
            Vector256.StoreUnsafe(TActivation.Invoke(Vector256.LoadUnsafe(ref values, (nuint)i)), ref values, (nuint)i);
        }

        if (i < count)
        {
            Span<float> lanes = stackalloc float[8];
            ref float first = ref Stage(ref Unsafe.Add(ref values, i), count - i, lanes);
            Vector256.StoreUnsafe(TActivation.Invoke(Vector256.LoadUnsafe(ref first)), ref first);
            lanes[..(count - i)].CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref values, i), count - i));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Run128<TActivation>(ref float values, int count)
        where TActivation : IActivationOperator
    {
        int i = 0;
        for (; i <= count - 4; i += 4)
        {
            Vector128.StoreUnsafe(TActivation.Invoke(Vector128.LoadUnsafe(ref values, (nuint)i)), ref values, (nuint)i);
        }

        if (i < count)
        {
            Span<float> lanes = stackalloc float[4];
            ref float first = ref Stage(ref Unsafe.Add(ref values, i), count - i, lanes);
            Vector128.StoreUnsafe(TActivation.Invoke(Vector128.LoadUnsafe(ref first)), ref first);
            lanes[..(count - i)].CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref values, i), count - i));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RunScalar<TActivation>(ref float values, int count)
        where TActivation : IActivationOperator
    {
        for (int i = 0; i < count; i++)
        {
            Unsafe.Add(ref values, i) = TActivation.Invoke(Unsafe.Add(ref values, i));
        }
    }

    /// <summary>Copies the last <paramref name="count"/> values into <paramref name="lanes"/>, zeroes the rest, and returns its first element.</summary>
    private static ref float Stage(ref float values, int count, Span<float> lanes)
    {
        MemoryMarshal.CreateReadOnlySpan(ref values, count).CopyTo(lanes);
        lanes[count..].Clear();
        return ref MemoryMarshal.GetReference(lanes);
    }
}
