using System.IO;
using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using DataType = FixedShapeAttention.Models.Onnx.TensorProto.Types.DataType;

namespace FixedShapeAttention.Models.Onnx;

/// <summary>
/// Turns a <see cref="TensorProto"/> into a .NET array after checking it: the element type, every dimension
/// non-negative, the element count (checked arithmetic) equal to what the data field holds, and the shape equal to
/// the one expected. The array is allocated only after these checks, so its size is bounded by bytes that are
/// really in the file: a tensor that declares 2^40 elements over a few bytes of data costs nothing.
/// </summary>
internal static class TensorReader
{
    /// <summary>Reads a FLOAT tensor whose shape must equal <paramref name="expectedShape"/>.</summary>
    /// <param name="role">What the tensor is for, e.g. "layer 0 query weight"; used in messages.</param>
    public static float[] ReadFloats(TensorProto tensor, string role, params ReadOnlySpan<long> expectedShape)
    {
        long count = CheckShape(tensor, role, DataType.Float, expectedShape);
        float[] values;
        if (tensor.HasRawData)
        {
            RequireOnlyRawData(tensor, role, tensor.FloatData.Count);
            ReadOnlySpan<byte> raw = tensor.RawData.Span;
            RequireDataLength(tensor, role, count, sizeof(float), raw.Length);
            values = new float[count];
            if (BitConverter.IsLittleEndian)
            {
                raw.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
            }
            else
            {
                // raw_data is little-endian by definition, whatever the machine.
                for (int i = 0; i < values.Length; i++)
                    values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * sizeof(float)));
            }
        }
        else
        {
            RequireElementCount(tensor, role, count, tensor.FloatData.Count, "float_data");
            values = new float[count];
            tensor.FloatData.CopyTo(values, 0);
        }

        return values;
    }

    /// <summary>
    /// Checks a FLOAT tensor completely (type, dimensions, element count against its data) without reading it, and
    /// returns its element count; for tensors whose shape is learned from the tensor itself.
    /// </summary>
    public static long CheckFloats(TensorProto tensor, string role)
    {
        long count = CheckShape(tensor, role, DataType.Float, expectedShape: default);
        if (tensor.HasRawData)
        {
            RequireOnlyRawData(tensor, role, tensor.FloatData.Count);
            RequireDataLength(tensor, role, count, sizeof(float), tensor.RawData.Length);
        }
        else
        {
            RequireElementCount(tensor, role, count, tensor.FloatData.Count, "float_data");
        }

        return count;
    }

    /// <summary>Reads an INT64 tensor of any shape (the shape operands of Reshape).</summary>
    public static long[] ReadInt64s(TensorProto tensor, string role)
    {
        long count = CheckShape(tensor, role, DataType.Int64, expectedShape: default);
        long[] values;
        if (tensor.HasRawData)
        {
            RequireOnlyRawData(tensor, role, tensor.Int64Data.Count);
            ReadOnlySpan<byte> raw = tensor.RawData.Span;
            RequireDataLength(tensor, role, count, sizeof(long), raw.Length);
            values = new long[count];
            for (int i = 0; i < values.Length; i++)
                values[i] = BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(i * sizeof(long)));
        }
        else
        {
            RequireElementCount(tensor, role, count, tensor.Int64Data.Count, "int64_data");
            values = new long[count];
            tensor.Int64Data.CopyTo(values, 0);
        }

        return values;
    }

    /// <summary>Reads a FLOAT tensor holding exactly one element (shape <c>[]</c>, <c>[1]</c>, <c>[1, 1]</c>, …).</summary>
    public static float ReadScalarFloat(TensorProto tensor, string role)
    {
        long count = CheckShape(tensor, role, DataType.Float, expectedShape: default);
        if (count != 1)
            throw new InvalidDataException($"{Name(tensor, role)}: expected a single float, got shape {FormatShape(tensor)}.");
        return ReadFloats(tensor, role, [.. tensor.Dims])[0];
    }

    /// <summary>Whether the tensor is a FLOAT holding exactly one element, without reading or allocating anything.</summary>
    public static bool IsScalarFloat(TensorProto tensor) =>
        tensor.DataType == (int)DataType.Float && tensor.Dims.Count <= 4 && ElementCountOrMinusOne(tensor) == 1;

    /// <summary>The tensor's dimensions as written, e.g. <c>[384, 1536]</c>.</summary>
    public static string FormatShape(TensorProto tensor) => "[" + string.Join(", ", tensor.Dims) + "]";

    /// <summary>
    /// Validates everything but the data length and returns the element count: storage kind, element type, every
    /// dimension non-negative, the product representable, and the shape equal to <paramref name="expectedShape"/>
    /// unless that is empty.
    /// </summary>
    private static long CheckShape(TensorProto tensor, string role, DataType expectedType, ReadOnlySpan<long> expectedShape)
    {
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External || tensor.ExternalData.Count > 0)
            throw new InvalidDataException($"{Name(tensor, role)}: its data is stored outside the model file (external data), which is not supported.");
        if (tensor.Segment is not null)
            throw new InvalidDataException($"{Name(tensor, role)}: it is split into segments, which is not supported.");
        if (tensor.DataType != (int)expectedType)
            throw new InvalidDataException($"{Name(tensor, role)}: expected element type {expectedType}, got {DescribeType(tensor.DataType)}.");

        long count = 1;
        for (int i = 0; i < tensor.Dims.Count; i++)
        {
            long dim = tensor.Dims[i];
            if (dim < 0)
                throw new InvalidDataException($"{Name(tensor, role)}: dimension {i} is negative ({dim}) in shape {FormatShape(tensor)}.");
            try
            {
                count = checked(count * dim);
            }
            catch (OverflowException ex)
            {
                throw new InvalidDataException($"{Name(tensor, role)}: the element count of shape {FormatShape(tensor)} overflows a 64-bit integer.", ex);
            }
        }

        if (!expectedShape.IsEmpty && !ShapeEquals(tensor, expectedShape))
        {
            throw new InvalidDataException(
                $"{Name(tensor, role)}: expected shape [{string.Join(", ", expectedShape.ToArray())}], got {FormatShape(tensor)}.");
        }

        return count;
    }

    private static bool ShapeEquals(TensorProto tensor, ReadOnlySpan<long> expectedShape)
    {
        if (tensor.Dims.Count != expectedShape.Length)
            return false;
        for (int i = 0; i < expectedShape.Length; i++)
        {
            if (tensor.Dims[i] != expectedShape[i])
                return false;
        }

        return true;
    }

    private static long ElementCountOrMinusOne(TensorProto tensor)
    {
        long count = 1;
        foreach (long dim in tensor.Dims)
        {
            if (dim < 0 || (dim != 0 && count > long.MaxValue / dim))
                return -1;
            count *= dim;
        }

        return count;
    }

    private static void RequireOnlyRawData(TensorProto tensor, string role, int typedCount)
    {
        if (typedCount > 0)
            throw new InvalidDataException($"{Name(tensor, role)}: it has both raw_data and a typed data field; exactly one is allowed.");
    }

    private static void RequireDataLength(TensorProto tensor, string role, long count, int elementSize, int byteLength)
    {
        // count·elementSize cannot overflow once count ≤ byteLength, which is an int.
        if (count > byteLength || count * elementSize != byteLength)
        {
            throw new InvalidDataException(
                $"{Name(tensor, role)}: shape {FormatShape(tensor)} declares {count} elements ({count} × {elementSize} bytes), " +
                $"but raw_data holds {byteLength} bytes.");
        }
    }

    private static void RequireElementCount(TensorProto tensor, string role, long count, int actual, string field)
    {
        if (count != actual)
        {
            throw new InvalidDataException(
                $"{Name(tensor, role)}: shape {FormatShape(tensor)} declares {count} elements, but {field} holds {actual}" +
                (actual == 0 ? " (no data field is set)." : "."));
        }
    }

    private static string Name(TensorProto tensor, string role) =>
        tensor.HasName && tensor.Name.Length > 0 ? $"tensor '{tensor.Name}' ({role})" : $"unnamed tensor ({role})";

    private static string DescribeType(int dataType) =>
        Enum.IsDefined(typeof(DataType), dataType) ? ((DataType)dataType).ToString() : $"unknown type {dataType}";
}
