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
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ActivationPass
{
    /// <summary><c>values[i] = act(values[i])</c> for <c>i</c> in <c>[0, count)</c>, 16 lanes at a time, then one by one.</summary>
    /// <remarks>A bare ref cannot be bounds-checked, so the range must lie inside the output of the running
    /// <see cref="ParallelRunner"/> call or the thread's <see cref="WorkerScratch"/>, as it does in generated kernels.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    /// <exception cref="ArgumentException">The range is not inside such a buffer.</exception>
    public static void Apply512<TActivation>(ref float values, int count)
        where TActivation : IActivationOperator
    {
        KernelCall.CheckWritable(ref values, count, nameof(values));
        Run512<TActivation>(ref values, count);
    }

    /// <summary><c>values[i] = act(values[i])</c> over the span, 16 lanes at a time, then one by one.</summary>
    public static void Apply512<TActivation>(Span<float> values)
        where TActivation : IActivationOperator =>
        Run512<TActivation>(ref MemoryMarshal.GetReference(values), values.Length);

    /// <summary>As <see cref="Apply512{TActivation}(ref float, int)"/>, 8 lanes at a time.</summary>
    /// <inheritdoc cref="Apply512{TActivation}(ref float, int)" path="/remarks"/>
    /// <inheritdoc cref="Apply512{TActivation}(ref float, int)" path="/exception"/>
    public static void Apply256<TActivation>(ref float values, int count)
        where TActivation : IActivationOperator
    {
        KernelCall.CheckWritable(ref values, count, nameof(values));
        Run256<TActivation>(ref values, count);
    }

    /// <summary>As <see cref="Apply512{TActivation}(Span{float})"/>, 8 lanes at a time.</summary>
    public static void Apply256<TActivation>(Span<float> values)
        where TActivation : IActivationOperator =>
        Run256<TActivation>(ref MemoryMarshal.GetReference(values), values.Length);

    /// <summary>As <see cref="Apply512{TActivation}(ref float, int)"/>, one value at a time.</summary>
    /// <inheritdoc cref="Apply512{TActivation}(ref float, int)" path="/remarks"/>
    /// <inheritdoc cref="Apply512{TActivation}(ref float, int)" path="/exception"/>
    public static void ApplyScalar<TActivation>(ref float values, int count)
        where TActivation : IActivationOperator
    {
        KernelCall.CheckWritable(ref values, count, nameof(values));
        RunScalar<TActivation>(ref values, count);
    }

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

        for (; i < count; i++)
        {
            Unsafe.Add(ref values, i) = TActivation.Invoke(Unsafe.Add(ref values, i));
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

        for (; i < count; i++)
        {
            Unsafe.Add(ref values, i) = TActivation.Invoke(Unsafe.Add(ref values, i));
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
}
