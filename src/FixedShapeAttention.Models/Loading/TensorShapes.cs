using System.IO;
using FixedShapeAttention.Models.Onnx;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// Reads a size of the model (vocabulary, hidden, intermediate, …) off the tensor that defines it, after the tensor has
/// passed every check of <see cref="TensorReader.CheckFloats"/>: a size then always matches data really in the file.
/// </summary>
internal static class TensorShapes
{
    public static int Dimension(TensorProto tensor, string role, int rank, int index)
    {
        TensorReader.CheckFloats(tensor, role);
        if (tensor.Dims.Count != rank)
        {
            string expected = rank == 1 ? "a vector [n]" : rank == 2 ? "a matrix [rows, columns]" : $"rank {rank}";
            throw new InvalidDataException($"tensor '{tensor.Name}' ({role}): expected {expected}, got shape {TensorReader.FormatShape(tensor)}.");
        }

        // The data check bounds every dimension by the file size; zero is the one value left to refuse.
        long size = tensor.Dims[index];
        if (size < 1)
            throw new InvalidDataException($"tensor '{tensor.Name}' ({role}): dimension {index} is {size}; every size of the model must be at least 1.");
        return (int)size;
    }
}
