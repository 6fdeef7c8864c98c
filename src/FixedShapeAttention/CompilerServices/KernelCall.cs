namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// The pinned spans of one running <see cref="ParallelRunner"/> call: it lives on that call's stack frame, and every
/// chunk reaches it through the <see cref="KernelBuffers"/> made for it. The spans' lengths were checked by the
/// generated method's validation before the call was pinned, so only their starts are kept.
/// </summary>
internal unsafe struct KernelCall
{
    public float* Input0, Input1, Input2, Input3, Input4, Input5, Output, Output1, Output2;
    public int* Counts;
    public int CountsLength;
}
