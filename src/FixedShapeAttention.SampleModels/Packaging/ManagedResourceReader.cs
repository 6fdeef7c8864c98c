using System.IO;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace FixedShapeAttention.SampleModels.Packaging;

/// <summary>
/// Opens a managed resource embedded in a .NET assembly file by reading the file's metadata with
/// System.Reflection.Metadata: the assembly is never loaded, so none of its dependencies are needed (or run).
/// </summary>
internal static class ManagedResourceReader
{
    /// <summary>Opens the resource as a stream over the file (which the stream owns).</summary>
    /// <exception cref="FileNotFoundException">The assembly file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a .NET assembly or has no such embedded resource.</exception>
    public static Stream Open(string assemblyPath, string resourceName)
    {
        var file = new FileStream(assemblyPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            (long start, long length) = Locate(file, assemblyPath, resourceName);
            return new FileWindowStream(file, start, length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static (long Start, long Length) Locate(FileStream file, string assemblyPath, string resourceName)
    {
        using var pe = new PEReader(file, PEStreamOptions.LeaveOpen);
        CorHeader? corHeader;
        try
        {
            corHeader = pe.HasMetadata ? pe.PEHeaders.CorHeader : null;
        }
        catch (System.BadImageFormatException ex)
        {
            throw new InvalidDataException($"{assemblyPath} is not a .NET assembly: {ex.Message}", ex);
        }

        if (corHeader is null)
            throw new InvalidDataException($"{assemblyPath} is not a .NET assembly.");

        MetadataReader metadata = pe.GetMetadataReader();
        foreach (ManifestResourceHandle handle in metadata.ManifestResources)
        {
            ManifestResource resource = metadata.GetManifestResource(handle);
            if (!metadata.StringComparer.Equals(resource.Name, resourceName))
                continue;
            if (!resource.Implementation.IsNil)
                throw new InvalidDataException($"{assemblyPath}: resource '{resourceName}' is linked from another file, not embedded.");

            // Embedded resources sit in the CLI resources directory, each as a 4-byte little-endian length and the bytes.
            DirectoryEntry directory = corHeader.ResourcesDirectory;
            if (!pe.PEHeaders.TryGetDirectoryOffset(directory, out int directoryOffset) ||
                resource.Offset < 0 || resource.Offset > directory.Size - sizeof(int))
            {
                throw new InvalidDataException($"{assemblyPath}: resource '{resourceName}' lies outside the resources directory.");
            }

            long headerOffset = directoryOffset + resource.Offset;
            file.Position = headerOffset;
            using var reader = new BinaryReader(file, System.Text.Encoding.UTF8, leaveOpen: true);
            uint length = reader.ReadUInt32();
            if (length > directory.Size - resource.Offset - sizeof(int))
                throw new InvalidDataException($"{assemblyPath}: resource '{resourceName}' claims {length} bytes, more than its directory holds.");
            return (headerOffset + sizeof(int), length);
        }

        throw new InvalidDataException($"{assemblyPath} has no embedded resource '{resourceName}'.");
    }
}
