using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// The pinned arguments of one kernel call, as handed to each chunk. It lets generated code reach the spans
/// from worker threads through <c>ref float</c>, so consumer projects need no <c>AllowUnsafeBlocks</c>.
/// Valid only during the <see cref="ParallelRunner"/> call that created it: a <c>ref struct</c>, so it cannot be
/// kept past the chunk it was given to.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly unsafe ref struct KernelBuffers
{
    private readonly KernelCall* _call;

    internal KernelBuffers(KernelCall* call)
    {
        _call = call;
    }

    /// <summary>The first element of input 0 (q, or x); a null ref when the call passed an empty span.</summary>
    /// <exception cref="InvalidOperationException">This is a default instance, not one a kernel call made.</exception>
    public ref float Input0 => ref Unsafe.AsRef<float>(Call->Input0);

    /// <summary>The first element of input 1 (k, or w1).</summary>
    /// <inheritdoc cref="Input0" path="/exception"/>
    public ref float Input1 => ref Unsafe.AsRef<float>(Call->Input1);

    /// <summary>The first element of input 2 (v, or b1).</summary>
    /// <inheritdoc cref="Input0" path="/exception"/>
    public ref float Input2 => ref Unsafe.AsRef<float>(Call->Input2);

    /// <summary>The first element of input 3 (w2).</summary>
    /// <inheritdoc cref="Input0" path="/exception"/>
    public ref float Input3 => ref Unsafe.AsRef<float>(Call->Input3);

    /// <summary>The first element of input 4 (b2).</summary>
    /// <inheritdoc cref="Input0" path="/exception"/>
    public ref float Input4 => ref Unsafe.AsRef<float>(Call->Input4);

    /// <summary>The first element of input 5 (a training call's row log-sum-exps).</summary>
    /// <inheritdoc cref="Input0" path="/exception"/>
    public ref float Input5 => ref Unsafe.AsRef<float>(Call->Input5);

    /// <summary>The first element of the output.</summary>
    /// <inheritdoc cref="Input0" path="/exception"/>
    public ref float Output => ref Unsafe.AsRef<float>(Call->Output);

    /// <summary>The first element of output 1 (a training call's second output: log-sum-exps, or dK).</summary>
    /// <inheritdoc cref="Input0" path="/exception"/>
    public ref float Output1 => ref Unsafe.AsRef<float>(Call->Output1);

    /// <summary>The first element of output 2 (dV).</summary>
    /// <inheritdoc cref="Input0" path="/exception"/>
    public ref float Output2 => ref Unsafe.AsRef<float>(Call->Output2);

    /// <summary>Whether the call passed a non-empty output 1 (a training forward pass keeps its log-sum-exps there).</summary>
    public bool HasOutput1 => _call != null && _call->Output1 != null;

    /// <summary>The count passed for <paramref name="sequence"/> (a masked attention call's visible keys), or
    /// <paramref name="whenAbsent"/> when the call passed none.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The call passed counts and <paramref name="sequence"/> is not an index into them.</exception>
    public int SequenceCount(int sequence, int whenAbsent)
    {
        KernelCall* call = _call;
        if (call == null || call->Counts == null)
        {
            return whenAbsent;
        }

        if ((uint)sequence >= (uint)call->CountsLength)
        {
            throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"sequence: expected an index in [0, {call->CountsLength}) (the counts the call passed).");
        }

        return call->Counts[sequence];
    }

    internal float* Input0Pointer => _call->Input0;
    internal float* Input1Pointer => _call->Input1;
    internal float* Input2Pointer => _call->Input2;
    internal float* Input3Pointer => _call->Input3;
    internal float* Input4Pointer => _call->Input4;
    internal float* OutputPointer => _call->Output;

    private KernelCall* Call => _call != null
        ? _call
        : throw new InvalidOperationException("A default KernelBuffers has no buffers: only ParallelRunner makes them, for the chunks of a running call.");
}
