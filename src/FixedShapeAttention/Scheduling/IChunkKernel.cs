using System.ComponentModel;

namespace FixedShapeAttention.Scheduling;

/// <summary>One kernel call cut into independent chunks; <see cref="ParallelRunner"/> runs them.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IChunkKernel
{
    /// <summary>Computes chunk <paramref name="chunk"/>. Chunks write disjoint outputs and may run in any order or concurrently.</summary>
    void Execute(in KernelBuffers buffers, int chunk);
}
