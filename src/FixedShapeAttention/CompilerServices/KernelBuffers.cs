using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// The pinned arguments of one kernel call, as handed to each chunk. It lets generated code reach the spans
/// from worker threads through <c>ref float</c>, so consumer projects need no <c>AllowUnsafeBlocks</c>.
/// Valid only during the <see cref="ParallelRunner"/> call that created it.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly unsafe struct KernelBuffers
{
    private readonly float* _input0, _input1, _input2, _input3, _input4, _output;
    private readonly int* _sequenceCounts;

    internal KernelBuffers(float* input0, float* input1, float* input2, float* input3, float* input4, float* output, int* sequenceCounts = null)
    {
        _sequenceCounts = sequenceCounts;
        _input0 = input0;
        _input1 = input1;
        _input2 = input2;
        _input3 = input3;
        _input4 = input4;
        _output = output;
    }

    /// <summary>The first element of input 0 (q, or x).</summary>
    public ref float Input0 => ref Unsafe.AsRef<float>(_input0);

    /// <summary>The first element of input 1 (k, or w1).</summary>
    public ref float Input1 => ref Unsafe.AsRef<float>(_input1);

    /// <summary>The first element of input 2 (v, or b1).</summary>
    public ref float Input2 => ref Unsafe.AsRef<float>(_input2);

    /// <summary>The first element of input 3 (w2).</summary>
    public ref float Input3 => ref Unsafe.AsRef<float>(_input3);

    /// <summary>The first element of input 4 (b2).</summary>
    public ref float Input4 => ref Unsafe.AsRef<float>(_input4);

    /// <summary>The first element of the output.</summary>
    public ref float Output => ref Unsafe.AsRef<float>(_output);

    /// <summary>The count passed for <paramref name="sequence"/> (a masked attention call's visible keys), or
    /// <paramref name="whenAbsent"/> when the call passed none.</summary>
    public int SequenceCount(int sequence, int whenAbsent) => _sequenceCounts == null ? whenAbsent : _sequenceCounts[sequence];

    internal float* Input0Pointer => _input0;
    internal float* Input1Pointer => _input1;
    internal float* Input2Pointer => _input2;
    internal float* Input3Pointer => _input3;
    internal float* Input4Pointer => _input4;
    internal float* OutputPointer => _output;
}
