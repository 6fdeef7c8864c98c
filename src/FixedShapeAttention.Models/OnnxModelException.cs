using System;
using System.IO;

namespace FixedShapeAttention.Models;

/// <summary>
/// The ONNX model given to <see cref="OnnxBertLoader"/> is malformed (not a protobuf ModelProto, inconsistent tensor
/// data) or is not a BERT-style encoder the loader supports. The message says what is wrong and where (the tensor,
/// node or value name); a protobuf parse failure is kept as <see cref="Exception.InnerException"/>.
/// </summary>
/// <remarks>
/// It derives from <see cref="IOException"/>: <see cref="InvalidDataException"/>, the closer match, is sealed. A caller
/// that handles "this file could not be read" with one <c>catch (IOException)</c> thus handles a bad model too.
/// </remarks>
public sealed class OnnxModelException : IOException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public OnnxModelException()
        : base("The ONNX model is malformed or not a supported BERT-style encoder.")
    {
    }

    /// <summary>Creates the exception with a message that says what is wrong and where.</summary>
    public OnnxModelException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception for a failure of an underlying reader (e.g. the protobuf parser).</summary>
    public OnnxModelException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
