using System.ComponentModel;

namespace FixedShapeAttention.CompilerServices;

/// <summary>One kernel call cut into independent chunks; <see cref="ParallelRunner"/> runs them.</summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IChunkKernel
{
    /// <summary>Computes chunk <paramref name="chunk"/>. Chunks write disjoint outputs and may run in any order or concurrently.</summary>
    void Execute(in KernelBuffers buffers, int chunk);
}
